# Writes a C file holding the portal's templates and stylesheet, each
# NUL-terminated, as the table portal_assets [] (portal_template.h):
#   cmake "-DFILES=a.html;b.css" -DOUT=x.c -P embed_files.cmake
set(body "/* Generated from services/portal/templates; do not edit. */\n")
string(APPEND body "#include \"portal_template.h\"\n\n")
set(table "")
set(index 0)
foreach(file ${FILES})
  get_filename_component(name ${file} NAME)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const unsigned char s_asset_${index} [] = { ${bytes} 0x00 };\n")
  string(APPEND table "    { \"${name}\", (const char *) s_asset_${index} },\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "\nconst portal_asset_t portal_assets [] = {\n${table}    { 0, 0 }\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
