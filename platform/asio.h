// The one place the project includes Boost.Asio. Boost 1.74's
// asio/awaitable.hpp uses std::exchange without including <utility>, which
// GCC 12 in C++20 mode rejects; including <utility> first fixes that.
#ifndef ATMHEALTH_PLATFORM_ASIO_H_
#define ATMHEALTH_PLATFORM_ASIO_H_

// <utility> must come first.
// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

namespace atmhealth {
namespace asio = boost::asio;
}

#endif  // ATMHEALTH_PLATFORM_ASIO_H_
