/* procstart.c — when this process started (see procstart.h). */
#include "procstart.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* starttime (field 22 of /proc/self/stat) in ticks since boot, or -1.
 * Fields are counted after the last ')': the command name may hold
 * spaces and parentheses. */
static long long start_ticks(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* After ')' come field 3 (state) onwards; starttime is field 22. */
    long long v = -1;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) {
            if (sscanf(tok, "%lld", &v) != 1)
                v = -1;
            break;
        }
    return v;
}

int64_t process_age_ns(void) {
    int64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    int64_t boot = clock_ns(CLOCK_BOOTTIME);
    long long ticks = start_ticks();
    long hz = sysconf(_SC_CLK_TCK);
    if (cpu < 0)
        cpu = 0;
    if (ticks < 0 || boot < 0 || hz <= 0)
        return cpu;
    int64_t tick_ns = 1000000000 / hz;
    /* The kernel rounds the start down to a tick: the true age lies in
     * (age_floor - tick, age_floor]. */
    int64_t age_max = boot - (int64_t)ticks * tick_ns;
    int64_t age_min = age_max - tick_ns;
    int64_t age = cpu;
    if (age < age_min)
        age = age_min;
    if (age > age_max)
        age = age_max;
    return age < 0 ? 0 : age;
}
