-- A survey: the surveyor asks, every respondent answers within survey_time.
local nml = require "nml"

local surveyor = assert(nml.socket("surveyor", { survey_time = 500, recv_timeout = 1000 }))
assert(surveyor:listen("inproc://survey-example"))
local respondents = {}
for i = 1, 3 do
  respondents[i] = assert(nml.socket("respondent", { recv_timeout = 50 }))
  assert(respondents[i]:dial("inproc://survey-example"))
end

-- Ask until every respondent has heard the question (a survey sent before a respondent is
-- connected does not reach it).
local heard = 0
for _ = 1, 100 do
  assert(surveyor:send({ question = "load?" }))
  heard = 0
  for i, r in ipairs(respondents) do
    local q = r:recv()
    if q then
      heard = heard + 1
      assert(r:send({ node = i, load = i * 0.25 }))
    end
  end
  if heard == #respondents then break end
  while surveyor:recv() do end -- drop the answers of an incomplete round
end

local answers = {}
for _ = 1, heard do
  local a = assert(surveyor:recv())
  answers[#answers + 1] = string.format("node %d: %.2f", a.node, a.load)
end
table.sort(answers)
print(#answers .. " answers: " .. table.concat(answers, ", "))
surveyor:close()
for _, r in ipairs(respondents) do r:close() end
