/*
 * mqtt_c_rr: the reference for scripts/bench-mqtt-requests.sh. Two libmosquitto clients in one
 * process, MQTT 5 with TCP_NODELAY, as two nodes would be: a requester publishes each request
 * (QoS 1, a response topic and correlation data) and waits for its reply; a responder subscribed
 * to the request topic publishes the payload back to the response topic (QoS 1) with the same
 * correlation data. One request at a time, so each figure is a whole round trip through the
 * broker and back: what a Jamey node's bus request to a `remote` rule takes, without Jamey.
 *
 *     mqtt_c_rr HOST PORT REQUESTS SIZE
 *
 * Prints one line: c size=S requests=N p50_us=.. p90_us=.. p99_us=.. mean_us=..
 */
#define _DEFAULT_SOURCE
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int subscribed;
static atomic_ullong answered;
static sem_t reply_arrived;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props) {
    (void)flags; (void)props;
    if (rc == 0) mosquitto_subscribe_v5(m, NULL, (const char *)obj, 1, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int count, const int *granted,
                         const mosquitto_property *props) {
    (void)m; (void)obj; (void)mid; (void)count; (void)granted; (void)props;
    atomic_fetch_add(&subscribed, 1);
}

/* The responder: the payload back to the response topic, with the request's correlation data. */
static void on_request(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
    (void)obj;
    char *topic = NULL;
    void *correlation = NULL;
    uint16_t length = 0;
    if (!mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &topic, false)) return;
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation, &length, false);
    mosquitto_property *out = NULL;
    if (correlation != NULL) mosquitto_property_add_binary(&out, MQTT_PROP_CORRELATION_DATA, correlation, length);
    mosquitto_publish_v5(m, NULL, topic, msg->payloadlen, msg->payload, 1, false, out);
    mosquitto_property_free_all(&out);
    free(topic);
    free(correlation);
}

/* The requester: a reply whose correlation data is the request's number. */
static void on_reply(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                     const mosquitto_property *props) {
    (void)m; (void)obj; (void)msg;
    void *correlation = NULL;
    uint16_t length = 0;
    if (!mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &correlation, &length, false)) return;
    unsigned long long seq = 0;
    if (length == sizeof seq) memcpy(&seq, correlation, sizeof seq);
    free(correlation);
    atomic_store(&answered, seq);
    sem_post(&reply_arrived);
}

static struct mosquitto *client(const char *id, const char *topic, const char *host, int port,
                                void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *,
                                                   const mosquitto_property *)) {
    struct mosquitto *m = mosquitto_new(id, true, (void *)topic);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (mosquitto_connect_bind_v5(m, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "cannot connect to %s:%d\n", host, port);
        exit(1);
    }
    mosquitto_loop_start(m);
    return m;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One request and its reply; returns the microseconds it took, or -1 after 10 s without it. */
static double round_trip(struct mosquitto *requester, unsigned long long seq, const char *payload, int size) {
    mosquitto_property *props = NULL;
    mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, "cbench/rr/reply");
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, &seq, sizeof seq);
    double start = now_us();
    mosquitto_publish_v5(requester, NULL, "cbench/rr/request", size, payload, 1, false, props);
    mosquitto_property_free_all(&props);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    while (atomic_load(&answered) != seq) {
        if (sem_timedwait(&reply_arrived, &deadline) != 0) return -1;
    }
    return now_us() - start;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT REQUESTS SIZE\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long n = atol(argv[3]);
    int size = atoi(argv[4]);
    if (n < 1 || size < 0) return 2;
    sem_init(&reply_arrived, 0, 0);
    mosquitto_lib_init();
    struct mosquitto *responder = client("c-rr-responder", "cbench/rr/request", host, port, on_request);
    struct mosquitto *requester = client("c-rr-requester", "cbench/rr/reply", host, port, on_reply);
    while (atomic_load(&subscribed) < 2) usleep(1000);

    char *payload = malloc((size_t)size + 1);
    memset(payload, 'x', (size_t)size);
    unsigned long long seq = 0;
    for (int i = 0; i < 100; i++) {
        if (round_trip(requester, ++seq, payload, size) < 0) { fprintf(stderr, "no reply in 10 s\n"); return 1; }
    }
    double *took = malloc(sizeof(double) * (size_t)n);
    double total = 0;
    for (long i = 0; i < n; i++) {
        took[i] = round_trip(requester, ++seq, payload, size);
        if (took[i] < 0) { fprintf(stderr, "no reply in 10 s\n"); return 1; }
        total += took[i];
    }
    qsort(took, (size_t)n, sizeof(double), compare);
    printf("c size=%d requests=%ld p50_us=%.0f p90_us=%.0f p99_us=%.0f mean_us=%.0f\n", size, n, took[(n - 1) / 2],
           took[(long)((double)(n - 1) * 0.9)], took[(long)((double)(n - 1) * 0.99)], total / (double)n);
    mosquitto_disconnect(requester);
    mosquitto_disconnect(responder);
    mosquitto_loop_stop(requester, false);
    mosquitto_loop_stop(responder, false);
    mosquitto_destroy(requester);
    mosquitto_destroy(responder);
    mosquitto_lib_cleanup();
    free(payload);
    free(took);
    return 0;
}
