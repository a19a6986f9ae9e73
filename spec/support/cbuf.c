/* cbuf: a test-only C module that makes plain full userdata buffers, as any other C library
 * (an image decoder, an audio driver) would. nml must treat them like its own messages.
 *
 *   cbuf.new(n [, seed])        full userdata of n bytes, byte i = (seed + 7 * i) % 256
 *   cbuf.check(buf, n [, seed]) true if the first n bytes hold that pattern (buf: userdata,
 *                               lightuserdata or an nml message's ptr())
 *   cbuf.light(ud)              a lightuserdata pointing at the block of ud
 *   cbuf.tostring(buf, n)       the first n bytes as a Lua string
 *
 * Builds against the headers of Lua 5.1 to 5.4 and LuaJIT; needs no Lua library to link. */
#include <string.h>
#include "lua.h"
#include "lauxlib.h"

static unsigned char pattern(lua_Integer seed, size_t i) {
    return (unsigned char)((seed + 7 * (lua_Integer)i) & 0xff);
}

static const unsigned char *bytes_of(lua_State *L, int idx) {
    const void *p = lua_touserdata(L, idx);
    if (p == NULL) luaL_argerror(L, idx, "userdata or lightuserdata expected");
    return (const unsigned char *)p;
}

static int cbuf_new(lua_State *L) {
    size_t n = (size_t)luaL_checkinteger(L, 1);
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    unsigned char *p = (unsigned char *)lua_newuserdata(L, n);
    size_t i;
    for (i = 0; i < n; i++) p[i] = pattern(seed, i);
    return 1;
}

static int cbuf_check(lua_State *L) {
    const unsigned char *p = bytes_of(L, 1);
    size_t n = (size_t)luaL_checkinteger(L, 2);
    lua_Integer seed = luaL_optinteger(L, 3, 0);
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != pattern(seed, i)) {
            lua_pushboolean(L, 0);
            lua_pushinteger(L, (lua_Integer)i);
            return 2;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int cbuf_light(lua_State *L) {
    lua_pushlightuserdata(L, (void *)bytes_of(L, 1));
    return 1;
}

static int cbuf_tostring(lua_State *L) {
    const unsigned char *p = bytes_of(L, 1);
    size_t n = (size_t)luaL_checkinteger(L, 2);
    lua_pushlstring(L, (const char *)p, n);
    return 1;
}

int luaopen_cbuf(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, cbuf_new);
    lua_setfield(L, -2, "new");
    lua_pushcfunction(L, cbuf_check);
    lua_setfield(L, -2, "check");
    lua_pushcfunction(L, cbuf_light);
    lua_setfield(L, -2, "light");
    lua_pushcfunction(L, cbuf_tostring);
    lua_setfield(L, -2, "tostring");
    return 1;
}
