#pragma once
/// @file
/// XskMap: the AF_XDP sockets an XDP program redirects frames to with bpf_redirect_map
/// (BPF_MAP_TYPE_XSKMAP, kernel 4.18+, CONFIG_XDP_SOCKETS), usually by RX queue:
///
///     ebpfpp::XdpSocket sock("veth0", 0);
///     ebpfpp::XskMap xsks(skel->maps.xsks);
///     xsks.set(0, sock);   // bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS) finds it
///
/// A slot holds an AF_XDP socket, put in by its fd; a frame goes to the socket only when the
/// socket is bound to the interface and queue the frame came in on (else it is dropped). The map holds the socket, not the fd: the socket leaves
/// the map when it closes. User space cannot read a slot back (the kernel refuses, EOPNOTSUPP).

#include "detail/config.hpp"

#include "detail/xsk_map_view.hpp" // IWYU pragma: export
#include "xdp_socket.hpp"          // IWYU pragma: export (XskMap::set takes an XdpSocket)
