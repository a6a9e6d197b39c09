/*
 * libnats_bench: the benchmarks that `xy bench` runs, with the official C client (libnats),
 * so both can be compared side by side against the same nats-server.
 *
 *   cc -O2 -o bench/bin/libnats_bench bench/libnats_bench.c -lnats -lpthread
 *   libnats_bench URL BENCH MSGS SIZE        BENCH = pub | pubsub | req | js-pub | kv-put
 *
 * Prints one JSON object on one line:
 *   {"client":"libnats","bench":"pub","size":16,"msgs":N,"msgs_per_s":…,"bytes_per_s":…}
 * and for req also "p50_us" and "p99_us".
 *
 *   pub     publish MSGS messages of SIZE bytes, then natsConnection_Flush; the time
 *           includes the flush (the server has everything).
 *   pubsub  a subscriber connection (async callback, no pending limits) and a separate
 *           publisher connection; time from the first publish to the MSGS-th delivery;
 *           reports delivered messages per second.
 *   req     a replier connection echoing the payload; MSGS sequential requests from a
 *           requester with natsOptions_SetSendAsap(true) (libnats' default buffered request
 *           path adds about 1 ms); reports p50/p99 round trip and requests per second.
 *   js-pub  a fresh file stream on bench.js; js_PublishAsync with MaxPending 256 (the same
 *           window as `xy bench js-pub`), then js_PublishAsyncComplete; acked messages per second.
 *   kv-put  a fresh bucket (history 1); MSGS sequential kvStore_Put over 100 keys; puts per
 *           second and p50/p99 latency.
 */
#include <nats/nats.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what, natsStatus status) {
    fprintf(stderr, "libnats_bench: %s: %s\n", what, natsStatus_GetText(status));
    nats_PrintLastErrorStack(stderr);
    exit(1);
}

#define CHECK(call)                                 \
    do {                                            \
        natsStatus check_status_ = (call);          \
        if (check_status_ != NATS_OK) {             \
            fail(#call, check_status_);             \
        }                                           \
    } while (0)

static natsConnection *connect_to(const char *url, bool send_asap) {
    natsOptions *options = NULL;
    natsConnection *connection = NULL;
    CHECK(natsOptions_Create(&options));
    CHECK(natsOptions_SetURL(options, url));
    CHECK(natsOptions_SetSendAsap(options, send_asap));
    CHECK(natsOptions_SetAllowReconnect(options, false));
    CHECK(natsConnection_Connect(&connection, options));
    natsOptions_Destroy(options);
    return connection;
}

static void print_result(const char *bench, int size, long msgs, double seconds,
                         const double *p50_us, const double *p99_us) {
    double rate = seconds > 0 ? (double)msgs / seconds : 0;
    printf("{\"client\":\"libnats\",\"bench\":\"%s\",\"size\":%d,\"msgs\":%ld,"
           "\"msgs_per_s\":%.1f,\"bytes_per_s\":%.1f",
           bench, size, msgs, rate, rate * size);
    if (p50_us != NULL && p99_us != NULL) {
        printf(",\"p50_us\":%.1f,\"p99_us\":%.1f", *p50_us, *p99_us);
    }
    printf("}\n");
    fflush(stdout);
}

/* ---- pub ---- */

static void bench_pub(const char *url, long msgs, int size, const char *payload) {
    natsConnection *nc = connect_to(url, false);
    int64_t start = now_ns();
    for (long i = 0; i < msgs; i++) {
        CHECK(natsConnection_Publish(nc, "bench.pub", payload, size));
    }
    CHECK(natsConnection_FlushTimeout(nc, 120000));
    int64_t end = now_ns();
    print_result("pub", size, msgs, (double)(end - start) / 1e9, NULL, NULL);
    natsConnection_Destroy(nc);
}

/* ---- pubsub ---- */

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t done;
    long expected;
    long received;
    int64_t last_ns;
} counter_t;

static void on_counted_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    counter_t *counter = closure;
    natsMsg_Destroy(msg);
    pthread_mutex_lock(&counter->mutex);
    counter->received++;
    if (counter->received == counter->expected) {
        counter->last_ns = now_ns();
        pthread_cond_signal(&counter->done);
    }
    pthread_mutex_unlock(&counter->mutex);
}

static void bench_pubsub(const char *url, long msgs, int size, const char *payload) {
    counter_t counter = {.expected = msgs, .received = 0, .last_ns = 0};
    pthread_mutex_init(&counter.mutex, NULL);
    pthread_cond_init(&counter.done, NULL);

    natsConnection *subscriber = connect_to(url, false);
    natsSubscription *sub = NULL;
    CHECK(natsConnection_Subscribe(&sub, subscriber, "bench.pubsub", on_counted_message, &counter));
    CHECK(natsSubscription_SetPendingLimits(sub, -1, -1));
    CHECK(natsConnection_Flush(subscriber));

    natsConnection *publisher = connect_to(url, false);
    int64_t start = now_ns();
    for (long i = 0; i < msgs; i++) {
        CHECK(natsConnection_Publish(publisher, "bench.pubsub", payload, size));
    }
    CHECK(natsConnection_FlushTimeout(publisher, 120000));

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 120;
    pthread_mutex_lock(&counter.mutex);
    while (counter.received < counter.expected) {
        if (pthread_cond_timedwait(&counter.done, &counter.mutex, &deadline) != 0) {
            break;
        }
    }
    long received = counter.received;
    int64_t last = counter.last_ns;
    pthread_mutex_unlock(&counter.mutex);
    if (received < msgs) {
        int64_t dropped = 0;
        natsSubscription_GetDropped(sub, &dropped);
        fprintf(stderr, "libnats_bench: pubsub: received %ld of %ld messages (dropped %lld)\n",
                received, msgs, (long long)dropped);
        exit(1);
    }
    print_result("pubsub", size, msgs, (double)(last - start) / 1e9, NULL, NULL);

    natsSubscription_Destroy(sub);
    natsConnection_Destroy(publisher);
    natsConnection_Destroy(subscriber);
}

/* ---- req ---- */

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    (void)closure;
    const char *reply = natsMsg_GetReply(msg);
    if (reply != NULL) {
        natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    }
    natsMsg_Destroy(msg);
}

static int compare_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void bench_req(const char *url, long msgs, int size, const char *payload) {
    natsConnection *replier = connect_to(url, true);
    natsSubscription *sub = NULL;
    CHECK(natsConnection_Subscribe(&sub, replier, "bench.req", on_request, NULL));
    CHECK(natsConnection_Flush(replier));

    natsConnection *requester = connect_to(url, true);
    int64_t *latencies = malloc(sizeof(int64_t) * (size_t)msgs);
    if (latencies == NULL) {
        fprintf(stderr, "libnats_bench: out of memory\n");
        exit(1);
    }
    int64_t start = now_ns();
    for (long i = 0; i < msgs; i++) {
        natsMsg *reply = NULL;
        int64_t sent = now_ns();
        CHECK(natsConnection_Request(&reply, requester, "bench.req", payload, size, 5000));
        latencies[i] = now_ns() - sent;
        natsMsg_Destroy(reply);
    }
    int64_t end = now_ns();

    qsort(latencies, (size_t)msgs, sizeof(int64_t), compare_int64);
    long p99_index = (msgs * 99) / 100;
    if (p99_index >= msgs) {
        p99_index = msgs - 1;
    }
    double p50_us = (double)latencies[msgs / 2] / 1e3;
    double p99_us = (double)latencies[p99_index] / 1e3;
    print_result("req", size, msgs, (double)(end - start) / 1e9, &p50_us, &p99_us);

    free(latencies);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(requester);
    natsConnection_Destroy(replier);
}

/* ---- js-pub, kv-put ---- */

#define JS_WINDOW 256

static jsCtx *jetstream_for(natsConnection *nc) {
    jsOptions options;
    jsCtx *js = NULL;
    CHECK(jsOptions_Init(&options));
    options.PublishAsync.MaxPending = JS_WINDOW;
    CHECK(natsConnection_JetStream(&js, nc, &options));
    return js;
}

static void bench_js_pub(const char *url, long msgs, int size, const char *payload) {
    natsConnection *nc = connect_to(url, false);
    jsCtx *js = jetstream_for(nc);
    jsErrCode jerr = 0;
    js_DeleteStream(js, "XYBENCHC", NULL, &jerr);
    jsStreamConfig config;
    CHECK(jsStreamConfig_Init(&config));
    const char *subjects[] = {"bench.js"};
    config.Name = "XYBENCHC";
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    CHECK(js_AddStream(NULL, js, &config, NULL, &jerr));

    int64_t start = now_ns();
    for (long i = 0; i < msgs; i++) {
        CHECK(js_PublishAsync(js, "bench.js", payload, size, NULL));
    }
    jsPubOptions wait;
    CHECK(jsPubOptions_Init(&wait));
    wait.MaxWait = 60000;
    CHECK(js_PublishAsyncComplete(js, &wait));
    int64_t end = now_ns();

    jsStreamInfo *info = NULL;
    CHECK(js_GetStreamInfo(&info, js, "XYBENCHC", NULL, &jerr));
    if (info->State.Msgs != (uint64_t)msgs) {
        fprintf(stderr, "libnats_bench: stream holds %llu messages, expected %ld\n", (unsigned long long)info->State.Msgs, msgs);
        exit(1);
    }
    jsStreamInfo_Destroy(info);
    print_result("js-pub", size, msgs, (double)(end - start) / 1e9, NULL, NULL);
    CHECK(js_DeleteStream(js, "XYBENCHC", NULL, &jerr));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

static void bench_kv_put(const char *url, long msgs, int size, const char *payload) {
    natsConnection *nc = connect_to(url, true);
    jsCtx *js = jetstream_for(nc);
    js_DeleteKeyValue(js, "xybenchc");
    kvConfig config;
    CHECK(kvConfig_Init(&config));
    config.Bucket = "xybenchc";
    config.History = 1;
    kvStore *kv = NULL;
    CHECK(js_CreateKeyValue(&kv, js, &config));

    char keys[100][8];
    for (int k = 0; k < 100; k++) {
        snprintf(keys[k], sizeof(keys[k]), "k%d", k);
    }
    int64_t *latencies = malloc(sizeof(int64_t) * (size_t)msgs);
    if (latencies == NULL) {
        fprintf(stderr, "libnats_bench: out of memory\n");
        exit(1);
    }
    int64_t start = now_ns();
    for (long i = 0; i < msgs; i++) {
        uint64_t revision = 0;
        int64_t sent = now_ns();
        CHECK(kvStore_Put(&revision, kv, keys[i % 100], payload, size));
        latencies[i] = now_ns() - sent;
    }
    int64_t end = now_ns();
    qsort(latencies, (size_t)msgs, sizeof(int64_t), compare_int64);
    long p99_index = (msgs * 99) / 100;
    if (p99_index >= msgs) {
        p99_index = msgs - 1;
    }
    double p50_us = (double)latencies[msgs / 2] / 1e3;
    double p99_us = (double)latencies[p99_index] / 1e3;
    print_result("kv-put", size, msgs, (double)(end - start) / 1e9, &p50_us, &p99_us);
    free(latencies);
    kvStore_Destroy(kv);
    CHECK(js_DeleteKeyValue(js, "xybenchc"));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL pub|pubsub|req|js-pub|kv-put MSGS SIZE\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    const char *bench = argv[2];
    long msgs = strtol(argv[3], NULL, 10);
    long size = strtol(argv[4], NULL, 10);
    if (msgs <= 0 || size < 0 || size > 64 * 1024 * 1024) {
        fprintf(stderr, "libnats_bench: MSGS must be > 0 and SIZE in 0...64 MiB\n");
        return 2;
    }
    char *payload = malloc((size_t)size + 1);
    if (payload == NULL) {
        fprintf(stderr, "libnats_bench: out of memory\n");
        return 1;
    }
    memset(payload, 'x', (size_t)size);
    payload[size] = '\0';

    CHECK(nats_Open(-1));
    if (strcmp(bench, "pub") == 0) {
        bench_pub(url, msgs, (int)size, payload);
    } else if (strcmp(bench, "pubsub") == 0) {
        bench_pubsub(url, msgs, (int)size, payload);
    } else if (strcmp(bench, "req") == 0) {
        bench_req(url, msgs, (int)size, payload);
    } else if (strcmp(bench, "js-pub") == 0) {
        bench_js_pub(url, msgs, (int)size, payload);
    } else if (strcmp(bench, "kv-put") == 0) {
        bench_kv_put(url, msgs, (int)size, payload);
    } else {
        fprintf(stderr, "libnats_bench: unknown bench '%s' (pub, pubsub, req, js-pub, kv-put)\n", bench);
        return 2;
    }
    free(payload);
    nats_Close();
    return 0;
}
