// libsodium, through pkg-config, for NKey ed25519 signing.
#include <sodium.h>
