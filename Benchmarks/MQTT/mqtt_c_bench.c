/*
 * mqtt_c_bench: the reference for scripts/bench-mqtt.sh. One libmosquitto client publishes N
 * messages to a topic it is subscribed to (no-local off) and counts them coming back through the
 * broker: the same path, over one connection, that a Jamey node takes from bus to broker to bus.
 *
 *     mqtt_c_bench HOST PORT MESSAGES SIZE QOS WINDOW
 *
 * At most WINDOW messages are outstanding (published, not yet received). Prints one line:
 *     c qos=Q size=S messages=N received=R seconds=T rate=MSG_PER_S
 */
#define _POSIX_C_SOURCE 200809L
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long received;
static atomic_int ready;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props) {
    (void)obj; (void)flags; (void)props;
    if (rc == 0) mosquitto_subscribe_v5(m, NULL, "cbench/#", *(int *)mosquitto_userdata(m), 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int count, const int *granted,
                         const mosquitto_property *props) {
    (void)m; (void)obj; (void)mid; (void)count; (void)granted; (void)props;
    atomic_store(&ready, 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
    (void)m; (void)obj; (void)msg; (void)props;
    atomic_fetch_add(&received, 1);
}

static void wait_window(long sent, long window) {
    while (sent - atomic_load(&received) >= window) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT MESSAGES SIZE QOS WINDOW\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long n = atol(argv[3]);
    int size = atoi(argv[4]);
    int qos = atoi(argv[5]);
    long window = atol(argv[6]);

    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new("c-bench", true, &qos);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 100);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 100);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (mosquitto_connect_bind_v5(m, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "cannot connect to %s:%d\n", host, port);
        return 1;
    }
    mosquitto_loop_start(m);
    while (!atomic_load(&ready)) usleep(1000);

    char *payload = malloc((size_t)size);
    memset(payload, 'x', (size_t)size);
    long warmup = n / 10 < 1000 ? n / 10 : 1000;
    for (long i = 0; i < warmup; i++) {
        wait_window(i, window);
        mosquitto_publish_v5(m, NULL, "cbench/warmup", size, payload, qos, false, NULL);
    }
    while (atomic_load(&received) < warmup) usleep(100);
    atomic_store(&received, 0);

    double start = now();
    for (long i = 0; i < n; i++) {
        wait_window(i, window);
        mosquitto_publish_v5(m, NULL, "cbench/data", size, payload, qos, false, NULL);
    }
    double deadline = now() + 60;
    while (atomic_load(&received) < n && now() < deadline) usleep(100);
    double seconds = now() - start;
    long got = atomic_load(&received);
    printf("c qos=%d size=%d messages=%ld received=%ld seconds=%.3f rate=%.0f\n", qos, size, n, got, seconds,
           (double)got / seconds);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    free(payload);
    return got == n ? 0 : 1;
}
