/* The keyspace: a hash table from binary-safe keys to binary-safe string values.
 *
 * Each entry is one allocation holding its header, the key and the value (with spare room so
 * APPEND grows in amortized O(1)). Chaining over a power-of-two bucket array, grown when the
 * load factor exceeds 1 and rehashed incrementally (one bucket per operation, like Redis' dict)
 * so no single command pays for moving the whole table.
 *
 * The table also keeps what kv reports without walking it: the entry count, the bytes of keys
 * plus values, and an order-independent digest of the content (see keyspace_digest). All value
 * changes go through this interface so the digest can never drift from the content. */
#ifndef CATENA_KV_KEYSPACE_H
#define CATENA_KV_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyspace;
struct ks_entry;

/* seed only changes the bucket layout (hash-flooding defence); content, count, bytes and
 * digest do not depend on it, so replicas may use different seeds. */
struct keyspace *keyspace_create(uint64_t seed);
void keyspace_destroy(struct keyspace *ks);
/* Frees at most `budget` entries; true once everything is freed, ks included. For a key space
 * too large to free at once without holding the caller for long. */
bool keyspace_destroy_some(struct keyspace *ks, size_t budget);

/* The entry for key, or NULL. Valid until the next change to the keyspace. */
const struct ks_entry *keyspace_find(struct keyspace *ks, const void *key, size_t klen);
/* Inserts key or replaces its value. Returns true when the key was new. */
bool keyspace_set(struct keyspace *ks, const void *key, size_t klen, const void *val,
                  size_t vlen);
/* Appends to key's value, creating the key when missing. Returns the new value length. */
size_t keyspace_append(struct keyspace *ks, const void *key, size_t klen, const void *data,
                       size_t len);
/* Removes key. Returns true when it existed. */
bool keyspace_delete(struct keyspace *ks, const void *key, size_t klen);
/* Removes every key (FLUSHALL) and returns the table to its initial size. */
void keyspace_clear(struct keyspace *ks);

/* Calls fn once per entry, in bucket order (which depends on the insertion history). fn must
 * not change the keyspace. */
void keyspace_foreach(const struct keyspace *ks, void (*fn)(const struct ks_entry *e, void *ctx),
                      void *ctx);

size_t keyspace_count(const struct keyspace *ks);
/* Sum of key and value lengths (not allocator overhead). */
uint64_t keyspace_bytes(const struct keyspace *ks);
/* Wrapping sum over entries of a 64-bit hash of (key, value): independent of insertion order
 * and bucket layout, updated on every change, 0 for an empty keyspace. */
uint64_t keyspace_digest(const struct keyspace *ks);

const uint8_t *ks_entry_key(const struct ks_entry *e);
size_t ks_entry_key_len(const struct ks_entry *e);
const uint8_t *ks_entry_value(const struct ks_entry *e);
size_t ks_entry_value_len(const struct ks_entry *e);

/* Introspection for tests: buckets in the main table, and whether a rehash is under way. */
size_t keyspace_buckets(const struct keyspace *ks);
bool keyspace_rehashing(const struct keyspace *ks);

#endif
