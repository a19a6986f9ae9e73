#include <nng/nng.h>
#include <nng/http.h>
