#ifndef TOLLGATE_CCRYPTO_SHIM_H
#define TOLLGATE_CCRYPTO_SHIM_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

/* SHA256_* on a stack context: no allocation per hash, unlike EVP_MD_CTX_new. */
typedef struct { SHA256_CTX ctx; } tg_sha256_ctx;
static inline void tg_sha256_init(tg_sha256_ctx *c) { SHA256_Init(&c->ctx); }
static inline void tg_sha256_update(tg_sha256_ctx *c, const void *data, size_t len) { SHA256_Update(&c->ctx, data, len); }
static inline void tg_sha256_final(tg_sha256_ctx *c, unsigned char *out32) { SHA256_Final(out32, &c->ctx); }
#pragma GCC diagnostic pop
#endif
