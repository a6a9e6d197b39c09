/* Valgrind 3.19 writes into the signal mask a program passes to rt_sigsuspend, and libdispatch
   (an idle `xy` main thread) passes one in read-only memory: valgrind then crashes. Preloaded
   under valgrind by bench/callgrind-per-message.sh, this hands the kernel a copy on the stack. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, sizeof(unsigned long));
}
