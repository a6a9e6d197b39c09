// Until the epoch branch lands its own accessors in GroupCache.swift (this file goes in that merge).
extension TickItem { var epoch: UInt64 { batch.epoch } }
extension SnapshotItem { var epoch: UInt64 { snapshot.epoch } }
