/* sigcount: a test-only C module that gives a script a SIGINT handler of its own, as an
 * embedder (a server, a game) would have: it counts the signals and lets the script go on.
 *
 *   sigcount.install()   SIGINT now only counts
 *   sigcount.count()     how many came
 *   sigcount.ours()      true while its handler is SIGINT's
 *   sigcount.in_state(code)  runs code in a Lua state of its own, then closes that state;
 *                        true, or false and the error
 *   sigcount.install_chain()  as a library that keeps the handler it finds and calls it from
 *                        its own (which also counts); chained() tells how often it ran
 *
 * Builds against the headers of Lua 5.1 to 5.4 and LuaJIT; needs no Lua library to link. */
#include <signal.h>
#include <string.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

static volatile sig_atomic_t hits = 0;

static void on_sigint(int sig) {
    (void)sig;
    hits++;
}

static int install(lua_State *L) {
    struct sigaction sa;
    (void)L;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    return 0;
}

static int count(lua_State *L) {
    lua_pushinteger(L, hits);
    return 1;
}

static int ours(lua_State *L) {
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    lua_pushboolean(L, sa.sa_handler == on_sigint);
    return 1;
}

static struct sigaction chained_to;
static volatile sig_atomic_t chain_hits = 0;

static void on_sigint_chained(int sig, siginfo_t *info, void *context) {
    chain_hits++;
    if (chained_to.sa_flags & SA_SIGINFO) {
        if (chained_to.sa_sigaction) chained_to.sa_sigaction(sig, info, context);
    } else if (chained_to.sa_handler != SIG_DFL && chained_to.sa_handler != SIG_IGN) {
        chained_to.sa_handler(sig);
    }
}

static int install_chain(lua_State *L) {
    struct sigaction sa;
    (void)L;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigint_chained;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &chained_to);
    return 0;
}

static int chained(lua_State *L) {
    lua_pushinteger(L, chain_hits);
    return 1;
}

/* The interpreter running this module exports Lua's API, so a second state can be made. */
static int in_state(lua_State *L) {
    const char *code = luaL_checkstring(L, 1);
    lua_State *other = luaL_newstate();
    int ok;
    luaL_openlibs(other);
    ok = luaL_loadstring(other, code) == 0 && lua_pcall(other, 0, 0, 0) == 0;
    lua_pushboolean(L, ok);
    lua_pushstring(L, ok ? "" : lua_tostring(other, -1));
    lua_close(other);
    return 2;
}

int luaopen_sigcount(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, install);
    lua_setfield(L, -2, "install");
    lua_pushcfunction(L, count);
    lua_setfield(L, -2, "count");
    lua_pushcfunction(L, ours);
    lua_setfield(L, -2, "ours");
    lua_pushcfunction(L, in_state);
    lua_setfield(L, -2, "in_state");
    lua_pushcfunction(L, install_chain);
    lua_setfield(L, -2, "install_chain");
    lua_pushcfunction(L, chained);
    lua_setfield(L, -2, "chained");
    return 1;
}
