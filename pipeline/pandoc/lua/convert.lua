-- Post bodies to pandoc's JSON AST: the one definition of how a body is read and filtered,
-- for a single post and for a batch alike (pandoc/convert.py starts both).
--
--   pandoc lua convert.lua READER FILTER        one body: standard input to standard output
--   pandoc lua convert.lua READER FILTER LIST   many bodies in one process (convert.Batch)
--
-- LIST holds pairs of lines: a body file to read and the JSON file to write, whose name is
-- written to standard output when it is done. A body that fails gets OUTPUT.err with the
-- message instead, and the batch goes on; a single body that fails exits 1, the message the
-- last line of standard error. Every pandoc.read gets an empty file list as its environment:
-- no file or network access.

local reader, filter_file, list = arg[1], arg[2], arg[3]
local filters = dofile(filter_file)  -- the list html_blocks.lua returns

-- pandoc's default reader options; tabs stay as written (pandoc.read never expands them).
local function convert(text)
  local doc = pandoc.read(text, reader, nil, {})
  for _, filter in ipairs(filters) do doc = doc:walk(filter) end
  return pandoc.write(doc, 'json')
end

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

if list == nil then
  local ok, result = pcall(convert, io.stdin:read('a'))
  if not ok then
    io.stderr:write(tostring(result), '\n')
    io.stderr:flush()
    os.exit(1)
  end
  io.stdout:write(result)
  io.stdout:flush()
  return
end

local lines = {}
for line in io.lines(list) do lines[#lines + 1] = line end
for i = 1, #lines - 1, 2 do
  local input, output = lines[i], lines[i + 1]
  local ok, result = pcall(function() return convert(slurp(input)) end)
  if ok then
    spill(output, result)
  else
    spill(output .. '.err', tostring(result))
  end
  io.stdout:write(output, '\n')
  io.stdout:flush()
end
