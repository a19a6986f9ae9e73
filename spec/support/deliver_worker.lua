-- A worker for deliver_spec: a rep socket that dials URL and answers each job with
-- {seq = job.seq, worker = NAME}, appending "NAME seq" to LOG for every job it runs. MODE
-- "silent" never answers; "slow" answers after 300 ms, "slower" after 1500 ms. It ends when
-- its spec kills it, or by itself once it has had no connection for 3 s (after its first) or
-- has lived 120 s: a worker left behind by a failed spec would otherwise go on redialing its
-- port, and serve whatever spec listens there next.
local nml = require "nml"
local url, name, log_path, mode = arg[1], arg[2], arg[3], arg[4] or "answer"
local sock = assert(nml.socket("rep", { recv_timeout = 100 }))
assert(sock:dial(url, { block = false }))
local log = assert(io.open(log_path, "a"))
log:setvbuf("no")
local contexts = {}
for i = 1, 16 do contexts[i] = assert(sock:context()) end
local born, connected_at = nml.clock(), nil
while nml.clock() - born < 120 do
  if sock:stats().pipes > 0 then
    connected_at = nml.clock()
  elseif connected_at and nml.clock() - connected_at > 3 then
    break
  end
  for _, ctx in ipairs(contexts) do
    local job = ctx:recv({ dontwait = true })
    if job then
      -- One string, so one write(2): unbuffered, each argument would be a write of its own, and
      -- two workers' lines could interleave ("a b 3\n4\n") and lose a run from the count.
      log:write(name .. " " .. tostring(job.seq) .. "\n")
      if mode == "slow" then nml.sleep(300) end
      if mode == "slower" then nml.sleep(1500) end
      if mode ~= "silent" then assert(ctx:send({ seq = job.seq, worker = name })) end
    end
  end
  nml.sleep(1)
end
