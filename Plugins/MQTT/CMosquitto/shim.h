/* libmosquitto (Debian: libmosquitto-dev) and its MQTT v5 protocol constants. */
#ifndef JAMEY_CMOSQUITTO_SHIM_H
#define JAMEY_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
