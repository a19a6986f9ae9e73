-- A worker for deliver_spec: a rep socket that dials URL and answers each job with
-- {seq = job.seq, worker = NAME}, appending "NAME seq" to LOG for every job it runs. MODE
-- "silent" never answers; "slow" answers after 300 ms, "slower" after 1500 ms. Ends when its parent's spec kills it.
local nml = require "nml"
local url, name, log_path, mode = arg[1], arg[2], arg[3], arg[4] or "answer"
local sock = assert(nml.socket("rep", { recv_timeout = 100 }))
assert(sock:dial(url, { block = false }))
local log = assert(io.open(log_path, "a"))
log:setvbuf("no")
local contexts = {}
for i = 1, 16 do contexts[i] = assert(sock:context()) end
while true do
  for _, ctx in ipairs(contexts) do
    local job = ctx:recv({ dontwait = true })
    if job then
      log:write(name, " ", tostring(job.seq), "\n")
      if mode == "slow" then nml.sleep(300) end
      if mode == "slower" then nml.sleep(1500) end
      if mode ~= "silent" then assert(ctx:send({ seq = job.seq, worker = name })) end
    end
  end
  nml.sleep(1)
end
