/*
 * pofhot: the pof data path's per-page hashing, native (Node-API, C).
 *
 * SHA-256 of 4 KiB pages is the largest single cost of both agents: Node's crypto API costs ~1.6 µs
 * of call overhead per page on top of the hash itself (617 MB/s per core for 4 KiB pages here, where
 * OpenSSL's low-level SHA-256 with SHA-NI does ~1.4 GB/s). These functions hash straight from the
 * caller's buffer into the caller's buffer (or compare in place): no allocation, no string per page. The hash is OpenSSL's (the one Node itself links and exports to addons).
 *
 * Pure: no I/O, no state. src/codec/sha256.ts loads this module and falls back to Node's crypto
 * (same results, slower) where it is not built; tests check both against each other.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/sha.h>
#include <string.h>

#define DIGEST 32

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* Bytes of a Buffer / Uint8Array argument (any TypedArray view is taken byte-wise). */
static int bytes_of(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t length, offset;
  void *base;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &base, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char *)base;
  *len = length;
  return 1;
}

static int index_of(napi_env env, napi_value v, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(size_t)d) return 0;
  *out = (size_t)d;
  return 1;
}

static void sha256(const unsigned char *data, size_t len, unsigned char *out) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data, len);
  SHA256_Final(out, &c);
}

/* sha256Into(data, out, outOffset): out[outOffset .. +32] = SHA-256(data). */
static napi_value sha256_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *data, *out;
  size_t len, out_len, at;
  if (argc < 3 || !bytes_of(env, argv[0], &data, &len) || !bytes_of(env, argv[1], &out, &out_len) || !index_of(env, argv[2], &at))
    return throw_error(env, "sha256Into(data: Uint8Array, out: Uint8Array, outOffset: number)");
  if (at > out_len || out_len - at < DIGEST) return throw_error(env, "sha256Into: no room for 32 bytes at outOffset");
  sha256(data, len, out + at);
  return NULL;
}

/*
 * sha256Matches(data, hash, hashOffset): SHA-256(data) equals hash[hashOffset .. +32].
 * The target agent's check of every NAS block against the reference's hash.
 */
static napi_value sha256_matches(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *data, *hash;
  size_t len, hash_len, at;
  if (argc < 3 || !bytes_of(env, argv[0], &data, &len) || !bytes_of(env, argv[1], &hash, &hash_len) || !index_of(env, argv[2], &at))
    return throw_error(env, "sha256Matches(data: Uint8Array, hash: Uint8Array, hashOffset: number)");
  if (at > hash_len || hash_len - at < DIGEST) return throw_error(env, "sha256Matches: no 32-byte hash at hashOffset");
  unsigned char d[DIGEST];
  sha256(data, len, d);
  napi_value r;
  napi_get_boolean(env, memcmp(d, hash + at, DIGEST) == 0, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sha256Into", NULL, sha256_into, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sha256Matches", NULL, sha256_matches, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
