-- Convert many post bodies in one pandoc process (`pandoc lua batch.lua LIST READER FILTER`).
-- LIST holds pairs of lines: a body file to read and the JSON file to write. A body that
-- fails gets OUTPUT.err with the message instead, and the batch goes on.
-- Every pandoc.read gets an empty file list as its environment: no file or network access.

local list, reader, filter_file = arg[1], arg[2], arg[3]
local filters = dofile(filter_file)  -- the same list of filters --lua-filter applies

local function slurp(path)
  local handle = assert(io.open(path, 'rb'))
  local text = handle:read('a')
  handle:close()
  return text
end

local function spill(path, text)
  local handle = assert(io.open(path, 'wb'))
  assert(handle:write(text))
  assert(handle:close())
end

local lines = {}
for line in io.lines(list) do lines[#lines + 1] = line end
for i = 1, #lines - 1, 2 do
  local input, output = lines[i], lines[i + 1]
  local ok, result = pcall(function()
    local doc = pandoc.read(slurp(input), reader, nil, {})
    for _, filter in ipairs(filters) do doc = doc:walk(filter) end
    return pandoc.write(doc, 'json')
  end)
  if ok then
    spill(output, result)
  else
    spill(output .. '.err', tostring(result))
  end
  io.stdout:write(output, '\n')
  io.stdout:flush()
end
