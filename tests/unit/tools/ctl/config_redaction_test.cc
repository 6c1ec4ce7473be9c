#include "tools/ctl/config_redaction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace atmhealth::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(IsSecretKeyTest, AWordOfTheNameDecidesInAnyCase) {
  for (const char* key : {"private_key", "key", "auth_pass", "API-TOKEN", "db_password",
                          "client_secret", "passphrase", "credentials", "Shared_Key"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"keys_dir", "monkey", "passive", "keepalived", "path", "tokens_per_s",
                          "certificate", "ca", ""}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(RedactConfigTest, EverySecretValueIsReplacedWholeAndEveryOtherIsKept) {
  const std::string text =
      "[uplink]\n"
      "collectors = [\"collector.example:7411\"]\n"
      "certificate = \"/etc/atmhealth/device.crt\"\n"
      "private_key = \"/etc/atmhealth/device.key\"  # the key\n"
      "[[cluster.peer]]\n"
      "address = \"10.0.0.2\"\n"
      "auth_pass = 1234\n"
      "[[cluster.peer]]\n"
      "address = \"10.0.0.3\"\n"
      "[cluster.peer.credentials]\n"
      "user = \"hb\"\n"
      "token = \"s3cr3t\"\n";
  Result<RedactedConfig> redacted = RedactConfig(text, "atmhealthd.toml");
  ASSERT_TRUE(redacted.ok()) << redacted.error().message();
  EXPECT_THAT(redacted->redacted, ElementsAre("cluster.peer[0].auth_pass",
                                              "cluster.peer[1].credentials", "uplink.private_key"));
  for (const char* secret : {"device.key", "1234", "s3cr3t", "\"hb\"", "# the key"}) {
    EXPECT_THAT(redacted->text, Not(HasSubstr(secret))) << redacted->text;
  }
  for (const char* kept :
       {"collector.example:7411", "/etc/atmhealth/device.crt", "10.0.0.2", "10.0.0.3",
        "private_key = '<redacted>'", "auth_pass = '<redacted>'", "credentials = '<redacted>'"}) {
    EXPECT_THAT(redacted->text, HasSubstr(kept)) << redacted->text;
  }
}

TEST(RedactConfigTest, ABrokenFileIsAnErrorNamingItsLineAndNothingOfIt) {
  Result<RedactedConfig> redacted =
      RedactConfig("[uplink]\nprivate_key = \"/k\"\npassword = \n", "atmhealthd.toml");
  ASSERT_FALSE(redacted.ok());
  EXPECT_THAT(redacted.error().message(), HasSubstr("atmhealthd.toml:3"));
}

}  // namespace
}  // namespace atmhealth::ctl
