// How late a thread that sleeps to an absolute deadline every 33 ms wakes up: the floor under any
// tick cadence on a loaded machine, whatever the service does. Run it beside a benchmark, e.g.
//   cc -O2 -o bench/bin/wake_latency bench/wake_latency.c && bench/bin/wake_latency 250
// (250 periods, about 8 s); prints p50, p99 and max lateness in milliseconds.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int ascending(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int periods = argc > 1 ? atoi(argv[1]) : 250;
    if (periods < 1) periods = 1;
    long *late = malloc(sizeof(long) * (size_t)periods);
    if (late == NULL) {
        perror("malloc");
        return 1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    for (int i = 0; i < periods; i++) {
        deadline.tv_nsec += 33000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_nsec -= 1000000000;
            deadline.tv_sec += 1;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        late[i] = (now.tv_sec - deadline.tv_sec) * 1000000000L + (now.tv_nsec - deadline.tv_nsec);
        // A few tenths of a millisecond of work (0.2-0.4 ms here), as a tick that builds a batch.
        volatile long sink = 0;
        for (long k = 0; k < 200000; k++) sink += k;
    }
    qsort(late, (size_t)periods, sizeof(long), ascending);
    printf("wake lateness over %d periods of 33 ms: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", periods,
           late[periods / 2] / 1e6, late[(long)periods * 99 / 100] / 1e6, late[periods - 1] / 1e6);
    free(late);
    return 0;
}
