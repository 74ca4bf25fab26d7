# tsr_embed_migrations(<out_var> <component> <symbol> <dir>): generate a C
# source holding <dir>/NNN_*.sql as a tsr_migration_set_t named <symbol>,
# regenerated whenever a migration changes.
function(tsr_embed_migrations out_var component symbol dir)
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DCOMPONENT=${component} -DSYMBOL=${symbol} -DOUT=${out}
            "-DFILES=${sql_files}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    DEPENDS ${sql_files} ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    COMMENT "embedding ${component} migrations"
    VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

# tsr_service(<name>): a service binary from services/<name>/*.c with its
# migrations embedded, linked to libtessera.
function(tsr_service name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  tsr_embed_migrations(migrations ${name} tsr_${name}_migrations ${CMAKE_CURRENT_SOURCE_DIR}/sql)
  add_executable(tessera-${name} ${sources} ${migrations})
  target_link_libraries(tessera-${name} PRIVATE tessera)
  install(TARGETS tessera-${name} RUNTIME DESTINATION bin)
endfunction()
