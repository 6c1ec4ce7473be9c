// Asio's OpenSSL streams, after the project's Asio include (platform/asio.h).
#ifndef ATMHEALTH_PLATFORM_ASIO_SSL_H_
#define ATMHEALTH_PLATFORM_ASIO_SSL_H_

#include "platform/asio.h"
// clang-format off
#include <boost/asio/ssl.hpp>
// clang-format on

#endif  // ATMHEALTH_PLATFORM_ASIO_SSL_H_
