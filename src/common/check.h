/* Invariant checks that stay on in every build (TigerBeetle style): a failed CHECK is a
 * programmer error, never a reaction to bad input. Validate network bytes; never CHECK them. */
#ifndef CATENA_COMMON_CHECK_H
#define CATENA_COMMON_CHECK_H

_Noreturn void check_failed(const char *expr, const char *file, int line);

#define CHECK(expr) ((expr) ? (void)0 : check_failed(#expr, __FILE__, __LINE__))

#endif
