// Minimal SHA-256 (FIPS 180-4) so code identity needs no OpenSSL headers or Node-internal symbols.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct oc_sha256_ctx {
  uint32_t state[8];
  uint64_t bytes;
  uint8_t block[64];
  size_t used;
};

void oc_sha256_init(oc_sha256_ctx* ctx);
void oc_sha256_update(oc_sha256_ctx* ctx, const void* data, size_t len);
void oc_sha256_final(oc_sha256_ctx* ctx, uint8_t digest[32]);

// BLOCKING: reads the whole file behind fd (from its current offset). 0 or a positive errno.
int oc_sha256_fd(int fd, uint8_t digest[32]);
