# Extra dependencies of the folder targets made in the top-level CMakeLists.txt.
# toml++ (Debian's libtomlplusplus-dev) is a compiled library here: its config defines the
# imported target tomlplusplus::tomlplusplus with TOML_HEADER_ONLY=0.
target_link_libraries(config PUBLIC tomlplusplus::tomlplusplus)
# actors: CAF actors and the socket thread under the network actor (actors/network/udp_io).
target_link_libraries(actors PUBLIC Threads::Threads caf::core caf::io systemd::systemd)
target_link_libraries(actors PUBLIC config kernel)
# kernel: the XFRM backend talks netlink through libnl-3 (xfrm; route for later routes/TUN).
target_link_libraries(kernel PUBLIC libnl::nl_xfrm_3 libnl::nl_route_3 libnl::nl_3)
