// natsgo_req: the request/reply benchmark of `xy bench req` with nats.go, for comparison.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o bench/bin/natsgo_req bench/natsgo_req.go
//	natsgo_req URL req MSGS SIZE
//
// A replier connection echoes the payload; MSGS sequential requests from a second connection.
// Prints one JSON line:
//
//	{"client":"nats.go","bench":"req","size":16,"msgs":N,"msgs_per_s":…,"bytes_per_s":…,"p50_us":…,"p99_us":…}
package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "natsgo_req: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 5 || os.Args[2] != "req" {
		fmt.Fprintf(os.Stderr, "usage: %s URL req MSGS SIZE\n", os.Args[0])
		os.Exit(2)
	}
	url := os.Args[1]
	msgs, err := strconv.Atoi(os.Args[3])
	if err != nil || msgs <= 0 {
		fail("MSGS must be a positive integer")
	}
	size, err := strconv.Atoi(os.Args[4])
	if err != nil || size < 0 {
		fail("SIZE must be a non-negative integer")
	}

	replier, err := nats.Connect(url, nats.NoReconnect())
	if err != nil {
		fail("replier connect: %v", err)
	}
	defer replier.Close()
	if _, err := replier.Subscribe("bench.req.go", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		fail("subscribe: %v", err)
	}
	if err := replier.Flush(); err != nil {
		fail("flush: %v", err)
	}

	requester, err := nats.Connect(url, nats.NoReconnect())
	if err != nil {
		fail("requester connect: %v", err)
	}
	defer requester.Close()

	payload := bytes.Repeat([]byte("x"), size)
	latencies := make([]time.Duration, msgs)
	start := time.Now()
	for i := 0; i < msgs; i++ {
		sent := time.Now()
		if _, err := requester.Request("bench.req.go", payload, 5*time.Second); err != nil {
			fail("request %d: %v", i, err)
		}
		latencies[i] = time.Since(sent)
	}
	elapsed := time.Since(start).Seconds()

	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	p99 := msgs * 99 / 100
	if p99 >= msgs {
		p99 = msgs - 1
	}
	rate := float64(msgs) / elapsed
	fmt.Printf("{\"client\":\"nats.go\",\"bench\":\"req\",\"size\":%d,\"msgs\":%d,\"msgs_per_s\":%.1f,"+
		"\"bytes_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
		size, msgs, rate, rate*float64(size),
		float64(latencies[msgs/2].Nanoseconds())/1e3, float64(latencies[p99].Nanoseconds())/1e3)
}
