/* forker: a test-only C module that forks the process, as a server does before its workers
 * (nginx's master, a pre-forking daemon):
 *
 *   forker.fork()        0 in the child, the child's pid in the parent
 *   forker.wait(pid)     how the child ended: "exit", code | "signal", number
 *   forker.exit(code)    ends the child at once (_exit: no atexit handlers, no Lua close)
 *
 * Builds against the headers of Lua 5.1 to 5.4 and LuaJIT; needs no Lua library to link. */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lua.h"
#include "lauxlib.h"

static int do_fork(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)fork());
    return 1;
}

static int do_wait(lua_State *L) {
    int status = 0;
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    if (waitpid(pid, &status, 0) != pid) {
        return luaL_error(L, "waitpid failed");
    }
    if (WIFSIGNALED(status)) {
        lua_pushstring(L, "signal");
        lua_pushinteger(L, WTERMSIG(status));
    } else {
        lua_pushstring(L, "exit");
        lua_pushinteger(L, WEXITSTATUS(status));
    }
    return 2;
}

static int do_exit(lua_State *L) {
    _exit((int)luaL_optinteger(L, 1, 0));
    return 0;
}

int luaopen_forker(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, do_fork);
    lua_setfield(L, -2, "fork");
    lua_pushcfunction(L, do_wait);
    lua_setfield(L, -2, "wait");
    lua_pushcfunction(L, do_exit);
    lua_setfield(L, -2, "exit");
    return 1;
}
