/* A test-only C module: a memory budget for the Lua state, so that specs can make Lua's
 * allocations fail part way through an nml call. Not for LuaJIT, whose 64-bit build cannot
 * change its allocator.
 *   memlimit.set(bytes)   from now on, allocations that grow Lua's memory by more than
 *                         `bytes` in all fail (Lua then raises "not enough memory")
 *   memlimit.clear()      back to the state's own allocator, no budget */
#include <lua.h>
#include <lauxlib.h>

static lua_Alloc original;
static void *original_ud;
static long long budget;

static void *limited(void *ud, void *ptr, size_t osize, size_t nsize) {
  size_t old = ptr ? osize : 0; /* for a new block, osize is a type tag (5.4) */
  (void)ud;
  if (nsize > old) {
    if ((long long)(nsize - old) > budget) return NULL;
    budget -= (long long)(nsize - old);
  } else {
    budget += (long long)(old - nsize);
  }
  return original(original_ud, ptr, osize, nsize);
}

static int set(lua_State *L) {
  budget = (long long)luaL_checknumber(L, 1);
  if (!original) {
    original = lua_getallocf(L, &original_ud);
    lua_setallocf(L, limited, NULL);
  }
  return 0;
}

static int clear(lua_State *L) {
  if (original) {
    lua_setallocf(L, original, original_ud); /* blocks from `limited` are the original's */
    original = NULL;
  }
  return 0;
}

int luaopen_memlimit(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, set);
  lua_setfield(L, -2, "set");
  lua_pushcfunction(L, clear);
  lua_setfield(L, -2, "clear");
  return 1;
}
