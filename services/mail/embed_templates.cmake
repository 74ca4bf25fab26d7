# Writes a C file holding the notice templates (templates/NAME.LANG.txt) as
#   const mail_template_file_t mail_templates_builtin [];
#   const size_t mail_templates_builtin_count;
# so the binary carries them (nothing to install or lose). Run at build time:
#   cmake -DFILES="a.fr.txt;a.en.txt" -DOUT=x.c -P embed_templates.cmake
set(body "/* Generated from services/mail/templates; do not edit. */\n#include \"mail_template.h\"\n\n")
set(items "")
set(index 0)
list(SORT FILES)
foreach(path ${FILES})
  get_filename_component(name ${path} NAME)
  if(NOT name MATCHES "^([a-z_]+)\\.(fr|en)\\.txt$")
    message(FATAL_ERROR "template file name must be name.fr.txt or name.en.txt: ${path}")
  endif()
  string(REGEX REPLACE "^([a-z_]+)\\.(fr|en)\\.txt$" "\\1" stem ${name})
  string(REGEX REPLACE "^([a-z_]+)\\.(fr|en)\\.txt$" "\\2" language ${name})
  file(READ ${path} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const unsigned char s_text_${index} [] = { ${bytes} 0x00 };\n")
  string(APPEND items "    { \"${stem}\", \"${language}\", (const char *) s_text_${index} },\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "\nconst mail_template_file_t mail_templates_builtin [] = {\n${items}};\n")
string(APPEND body "const size_t mail_templates_builtin_count = ${index};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
