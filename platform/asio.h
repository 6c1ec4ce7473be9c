// The one place the project includes Boost.Asio. Boost 1.74's
// asio/awaitable.hpp uses std::exchange without including <utility>, which
// GCC 12 in C++20 mode rejects; including <utility> first fixes that.
#ifndef ATMHEALTH_PLATFORM_ASIO_H_
#define ATMHEALTH_PLATFORM_ASIO_H_

#include <utility>

#include <boost/asio.hpp>

namespace atmhealth {
namespace asio = boost::asio;
}

#endif  // ATMHEALTH_PLATFORM_ASIO_H_
