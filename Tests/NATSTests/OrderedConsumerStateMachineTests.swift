@testable import NATS
import Testing

@Suite("Ordered consumer state machine")
struct OrderedConsumerStateMachineTests {
    private func started() -> (OrderedConsumerStateMachine, Int) {
        var machine = OrderedConsumerStateMachine(maxSilentTicks: 3)
        let generation = machine.beginGeneration()
        machine.recreated()
        return (machine, generation)
    }

    @Test("in-order deliveries pass; a consumer-sequence gap recreates from the next stream sequence")
    func gap() {
        var (machine, generation) = started()
        #expect(machine.delivered(generation: generation, consumerSequence: 1, streamSequence: 10) == .deliver)
        #expect(machine.delivered(generation: generation, consumerSequence: 2, streamSequence: 12) == .deliver)
        #expect(machine.delivered(generation: generation, consumerSequence: 4, streamSequence: 15) == .recreate(fromStreamSequence: 13))
        // While recreating, nothing else starts a second recreation.
        #expect(machine.tick() == .ignore)
        let next = machine.beginGeneration()
        #expect(machine.delivered(generation: generation, consumerSequence: 5, streamSequence: 16) == .ignore)
        #expect(machine.delivered(generation: next, consumerSequence: 1, streamSequence: 13) == .deliver)
        machine.recreated()
        #expect(machine.streamSequence == 13)
    }

    @Test("heartbeats: flow control answered, stalled consumer resumed, missed deliveries detected")
    func heartbeats() {
        var (machine, generation) = started()
        #expect(machine.delivered(generation: generation, consumerSequence: 1, streamSequence: 1) == .deliver)
        #expect(machine.control(generation: generation, reply: "fc.reply", lastConsumerSequence: nil, stalled: nil) == .flowControl(reply: "fc.reply"))
        #expect(machine.control(generation: generation, reply: nil, lastConsumerSequence: 1, stalled: nil) == .ignore)
        #expect(machine.control(generation: generation, reply: nil, lastConsumerSequence: 1, stalled: "resume.me") == .resumeStalled(subject: "resume.me"))
        #expect(machine.control(generation: generation, reply: nil, lastConsumerSequence: 3, stalled: nil) == .recreate(fromStreamSequence: 2))
    }

    @Test("silence past the allowed heartbeats recreates; a failed recreation is retried on the next tick")
    func silence() {
        var (machine, generation) = started()
        #expect(machine.delivered(generation: generation, consumerSequence: 1, streamSequence: 7) == .deliver)
        #expect(machine.tick() == .ignore)
        #expect(machine.tick() == .ignore)
        #expect(machine.tick() == .ignore)
        #expect(machine.tick() == .recreate(fromStreamSequence: 8))
        _ = machine.beginGeneration()
        machine.recreationFailed()
        #expect(machine.tick() == .recreate(fromStreamSequence: 8))
    }

    @Test("a status that ends the server-side consumer (409) recreates it")
    func lost() {
        var (machine, generation) = started()
        #expect(machine.consumerLost(generation: generation) == .recreate(fromStreamSequence: 1))
        #expect(machine.consumerLost(generation: generation) == .ignore)
    }
}
