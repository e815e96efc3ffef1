-- Parse the HTML a feed import left in a Markdown body into pandoc blocks.
-- Blocks that came from HTML are wrapped in a Div with class "from-html" so the
-- normalizer can tell the two copies apart. pandoc.read gets an empty file list as
-- its environment: that sandboxes the HTML reader (no file or network access,
-- e.g. for <iframe src>).

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

-- A Markdown paragraph with inline HTML (<strong>, <br>): let the HTML reader see it whole.
local function reparse(el)
  if has_raw_html(el.content) then
    local html = pandoc.write(pandoc.Pandoc({pandoc.Para(el.content)}), 'html')
    return read_html(html)
  end
end

-- Returned as a list of filters: convert.lua applies exactly these to every body.
return {{RawBlock = raw_block, Para = reparse, Plain = reparse}}
