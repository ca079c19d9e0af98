/*
 * Test helpers that edit a model file in memory: change header text and
 * recompute the header length and checksum, so that a test reaches the
 * validation step it targets instead of stopping at the checksum.
 */
#ifndef INSTSIM_MODEL_EDIT_H
#define INSTSIM_MODEL_EDIT_H

#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t
edit_hlen(const unsigned char *buf)
{
	uint64_t	h = 0;

	for (int i = 7; i >= 0; i--)
		h = h << 8 | buf[i];
	return h;
}

/* Recomputes the whole-file checksum (model.h) in place; no-op without one. */
static inline void
edit_reseal(unsigned char *buf, size_t len)
{
	uint64_t	hlen = len >= 8 ? edit_hlen(buf) : 0;
	unsigned char *hex = hlen && hlen <= len - 8 ? memmem(buf + 8, hlen, "\"sha256\":\"", 10) : NULL;
	struct sha256_ctx ctx;
	uint8_t		d[SHA256_DIGEST_SIZE];
	char		out[65];

	if (!hex || hex + 10 + 64 > buf + len)
		return;
	hex += 10;
	memset(hex, '0', 64);
	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof(d), d);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	memcpy(hex, out, 64);
}

/*
 * A copy of the model with the first occurrence of `from` in the header
 * replaced by `to`, header length fixed and checksum recomputed.  NULL if
 * `from` is not in the header.
 */
static inline unsigned char *
edit_header(const unsigned char *buf, size_t len, const char *from, const char *to, size_t *out_len)
{
	uint64_t	hlen = edit_hlen(buf);
	const unsigned char *at = memmem(buf + 8, hlen, from, strlen(from));
	size_t		nf = strlen(from),
				nt = strlen(to);
	size_t		nlen = len - nf + nt;
	unsigned char *out;
	size_t		pre;

	if (!at)
		return NULL;
	pre = (size_t) (at - buf);
	out = malloc(nlen);
	memcpy(out, buf, pre);
	memcpy(out + pre, to, nt);
	memcpy(out + pre + nt, at + nf, len - pre - nf);
	hlen = hlen - nf + nt;
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char) (hlen >> (8 * i));
	edit_reseal(out, nlen);
	*out_len = nlen;
	return out;
}

#endif
