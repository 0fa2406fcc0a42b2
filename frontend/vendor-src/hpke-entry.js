// The only part of @hpke/core the pages use: RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256 and AES-GCM, all on the browser's WebCrypto (so a custodian's X25519 key can stay
// non-extractable). Bundled by build.sh into one classic script exposing `window.SunlightHPKE`.
export { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
