//! nml.unpacker: the input is a stream of bare MessagePack fed in pieces whose sizes the
//! input's first byte picks. Fed in pieces or whole, it must give the same values (compared by
//! their packed size, which a map's key order does not change) and fail alike.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "harness.rs"]
mod harness;

const CHECK: &str = r#"
local function values(data, step)
  local u = nml.unpacker { max_size = 1 << 16 }
  local out, failed = {}, false
  for i = 1, #data, step do
    if not u:feed(data:sub(i, i + step - 1)) then failed = true end
    while true do
      local v, err = u:next()
      if v == nil and err == nil then break end
      -- a value that does not decode is still one value: its place is kept
      out[#out + 1] = v == nil and "<error>" or select(2, pcall(nml.packsize, v))
      if v == nil and (err:find("max_size", 1, true) or err:find("0xc1", 1, true)) then break end
    end
    if failed then break end
  end
  return out, failed
end

return function(data)
  if #data == 0 then return end
  local step = data:byte(1) % 13 + 1
  local stream = data:sub(2)
  local pieces, failed_pieces = values(stream, step)
  local whole, failed_whole = values(stream, #stream + 1)
  if failed_pieces ~= failed_whole or #pieces ~= #whole then
    error("FINDING: pieces and whole disagree: " .. #pieces .. " vs " .. #whole)
  end
  for i = 1, #whole do
    if pieces[i] ~= whole[i] then error("FINDING: value " .. i .. " differs") end
  end
end
"#;

fuzz_target!(|data: &[u8]| {
    harness::run(CHECK, data);
});
