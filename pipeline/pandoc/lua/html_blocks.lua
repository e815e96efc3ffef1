-- Parse the HTML a feed import left in a Markdown body into pandoc blocks.
-- Blocks that came from HTML are wrapped in a Div with class "from-html" so the
-- normalizer can tell the two copies apart. pandoc.read gets an empty file list as
-- its environment: that sandboxes the HTML reader (no file or network access,
-- e.g. for <iframe src>). A paragraph's raw tags are balanced before the HTML reader sees
-- them (source/prepare.py makes HTML blocks well-formed): it is exponential on unclosed lists.

local function read_html(text)
  return pandoc.read(text, 'html+raw_html', nil, {}).blocks
end

local function has_raw_html(inlines)
  for _, el in ipairs(inlines) do
    if el.t == 'RawInline' and el.format == 'html' then return true end
  end
  return false
end

-- Unwrap plain <div>s from the feed (5,000 nested ones must not nest 5,000 deep).
local function unwrap_divs(blocks)
  return blocks:walk({
    Div = function(div)
      if not div.classes:includes('from-html') then return div.content end
    end
  })
end

local function raw_block(el)
  if el.format == 'html' then
    return pandoc.Div(unwrap_divs(read_html(el.text)), {class = 'from-html'})
  end
end

-- Elements without an end tag.
local VOID = {}
for name in ('area base br col embed hr img input keygen link meta param source track wbr'):gmatch('%S+') do
  VOID[name] = true
end

-- Inline elements whose content is a list of inlines (the HTML writer nests their tags).
local CONTAINERS = {}
for name in ('Emph Strong Strikeout Underline SmallCaps Superscript Subscript Span Quoted Link Cite')
    :gmatch('%S+') do
  CONTAINERS[name] = true
end

-- 'open' or 'close' and the lower-case name of one raw HTML tag (the CommonMark reader gives
-- each tag its own RawInline); nil for void and self-closing tags, comments and declarations.
local function tag(text)
  local slash, name = text:match('^<(/?)([%a][%w%-]*)')
  if name == nil then return nil end
  name = name:lower()
  if slash == '/' then return 'close', name end
  if VOID[name] or text:match('/%s*>$') then return nil end
  return 'open', name
end

local function end_tag(name)
  return pandoc.RawInline('html', '</' .. name .. '>')
end

-- `inlines` with the raw HTML elements they open closed among them: an end tag first closes
-- the elements opened after its own, and the list ends with the end tags it lacks. pandoc's
-- HTML reader backtracks exponentially over unclosed elements (22 unclosed `<ul><li>` in a
-- list item: 30 s); closed, the same tags and text read in milliseconds. Only end tags are
-- added, nothing is taken away; balanced inlines come back as they were. Returns the inlines
-- and whether any tag was added.
local function balance(inlines)
  local out, open, added = pandoc.Inlines({}), {}, false
  for _, el in ipairs(inlines) do
    if el.t == 'RawInline' and el.format == 'html' then
      local kind, name = tag(el.text)
      if kind == 'open' then
        open[#open + 1] = name
      elseif kind == 'close' then
        for depth = #open, 1, -1 do
          if open[depth] == name then
            for i = #open, depth + 1, -1 do out:insert(end_tag(open[i])) end
            added = added or depth < #open
            for i = #open, depth, -1 do open[i] = nil end
            break
          end
        end
      end
    elseif CONTAINERS[el.t] then
      local content, inner = balance(el.content)
      if inner then
        el.content = content
        added = true
      end
    end
    out:insert(el)
  end
  for i = #open, 1, -1 do
    out:insert(end_tag(open[i]))
    added = true
  end
  return out, added
end

-- A Markdown paragraph with inline HTML (<strong>, <br>): let the HTML reader see it whole,
-- its tags balanced.
local function reparse(el)
  if has_raw_html(el.content) then
    local inlines, added = balance(el.content)
    local html = pandoc.write(pandoc.Pandoc({pandoc.Para(added and inlines or el.content)}), 'html')
    return read_html(html)
  end
end

-- Returned as a list of filters: convert.lua applies exactly these to every body.
return {{RawBlock = raw_block, Para = reparse, Plain = reparse}}
