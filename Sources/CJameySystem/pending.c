#include "jamey_pending.h"

#include <stdlib.h>

jamey_pending *jamey_pending_create(uint64_t capacity) {
    jamey_pending *table = calloc(1, sizeof(*table));
    if (table == NULL) return NULL;
    table->slots = calloc(capacity, sizeof(jamey_pending_slot));
    if (table->slots == NULL) {
        free(table);
        return NULL;
    }
    table->mask = capacity - 1;
    return table;
}

void jamey_pending_destroy(jamey_pending *table) {
    if (table == NULL) return;
    free(table->slots);
    free(table);
}

/* Takes the request of a slot that held `id` (0 when another thread took it first). */
static void *take_slot(jamey_pending_slot *slot, uint64_t id) {
    if (!__atomic_compare_exchange_n(&slot->id, &id, JAMEY_PENDING_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        return 0;
    }
    void *request = slot->request;
    slot->request = 0;
    __atomic_store_n(&slot->id, 0, __ATOMIC_RELEASE);
    return request;
}

void *jamey_pending_next_expired(jamey_pending *table, uint64_t now, uint64_t *cursor, uint64_t *earliest) {
    /* Pairs with the registering thread's sequentially consistent publish and its read of the
     * timer's wake-up time (see the header). */
    if (*cursor == 0) __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (; *cursor <= table->mask; (*cursor)++) {
        jamey_pending_slot *slot = &table->slots[*cursor];
        uint64_t id = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
        if (id == 0 || id == JAMEY_PENDING_BUSY) continue;
        uint64_t deadline = __atomic_load_n(&slot->deadline, __ATOMIC_RELAXED);
        /* The deadline is this id's only if the slot still holds it (a seqlock's reader). */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->id, __ATOMIC_RELAXED) != id) continue;
        if (deadline > now) {
            if (deadline < *earliest) *earliest = deadline;
            continue;
        }
        void *request = take_slot(slot, id);
        if (request != NULL) {
            (*cursor)++;
            return request;
        }
    }
    return 0;
}

void *jamey_pending_next_any(jamey_pending *table, uint64_t *cursor) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (; *cursor <= table->mask; (*cursor)++) {
        jamey_pending_slot *slot = &table->slots[*cursor];
        for (;;) {
            uint64_t id = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
            if (id == 0) break;
            if (id == JAMEY_PENDING_BUSY) continue;
            void *request = take_slot(slot, id);
            if (request != NULL) {
                (*cursor)++;
                return request;
            }
        }
    }
    return 0;
}

uint64_t jamey_pending_count(jamey_pending *table) {
    uint64_t count = 0;
    for (uint64_t i = 0; i <= table->mask; i++) {
        uint64_t id = __atomic_load_n(&table->slots[i].id, __ATOMIC_ACQUIRE);
        if (id != 0 && id != JAMEY_PENDING_BUSY) count++;
    }
    return count;
}
