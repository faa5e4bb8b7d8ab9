# Imported targets for the fixed dependencies. Debian's libcaf-dev and the
# libnl3 packages ship no CMake config, so their targets are made here.

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
foreach(part core io openssl)
  find_library(CAF_${part}_LIBRARY caf_${part} REQUIRED)
  add_library(caf::${part} UNKNOWN IMPORTED)
  set_target_properties(caf::${part} PROPERTIES
    IMPORTED_LOCATION ${CAF_${part}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR})
endforeach()
set_property(TARGET caf::io APPEND PROPERTY INTERFACE_LINK_LIBRARIES caf::core)
set_property(TARGET caf::openssl APPEND PROPERTY INTERFACE_LINK_LIBRARIES caf::io OpenSSL::SSL)

find_path(LIBNL_INCLUDE_DIR netlink/netlink.h PATH_SUFFIXES libnl3 REQUIRED)
foreach(part nl-3 nl-route-3 nl-xfrm-3)
  string(REPLACE "-" "_" tgt ${part})
  find_library(LIB${tgt}_LIBRARY ${part} REQUIRED)
  add_library(libnl::${tgt} UNKNOWN IMPORTED)
  set_target_properties(libnl::${tgt} PROPERTIES
    IMPORTED_LOCATION ${LIB${tgt}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${LIBNL_INCLUDE_DIR})
endforeach()
set_property(TARGET libnl::nl_route_3 libnl::nl_xfrm_3 APPEND PROPERTY INTERFACE_LINK_LIBRARIES libnl::nl_3)

find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark QUIET)

# libsystemd (journal, sd_notify): Debian's libsystemd-dev has a pkg-config file but no CMake config.
find_path(SYSTEMD_INCLUDE_DIR systemd/sd-journal.h REQUIRED)
find_library(SYSTEMD_LIBRARY systemd REQUIRED)
add_library(systemd::systemd UNKNOWN IMPORTED)
set_target_properties(systemd::systemd PROPERTIES
  IMPORTED_LOCATION ${SYSTEMD_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${SYSTEMD_INCLUDE_DIR})
