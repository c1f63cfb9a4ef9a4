// The two URL readers that percent-decode (common/text.hpp PercentDecode): PostgreSQL credentials
// reject a bad escape with a config error naming the URL part; a file:// bucket_url keeps a '%'
// without two hex digits after it as part of the folder name.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "db/pg_conn.hpp"
#include "helpers/test_util.hpp"
#include "sources/filesystem/filesystem_source.hpp"

namespace cdlt {
namespace {

namespace fs = std::filesystem;

TEST(UrlPercentDecoding, PgCredentialsRejectBadEscapesNamingThePart) {
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u%zz:pw@h/d", "key K"),
                    ErrorKind::kConfig, "key K: bad percent-encoding in the URL's user name");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u%@h/d", "key K"), ErrorKind::kConfig,
                    "key K: bad percent-encoding in the URL's user name");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u:secret1%4@h/d", "key K"),
                    ErrorKind::kConfig, "key K: bad percent-encoding in the URL's password");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u@h%zz:5432/d", "key K"),
                    ErrorKind::kConfig, "key K: bad percent-encoding in the URL's host");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u@h/d%", "key K"), ErrorKind::kConfig,
                    "key K: bad percent-encoding in the URL's database");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u@h/d?a%g=1", "key K"),
                    ErrorKind::kConfig, "key K: bad percent-encoding in the URL's query");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u@h/d?a=%", "key K"),
                    ErrorKind::kConfig, "key K: bad percent-encoding in the URL's query");
  try {
    db::PgCredentials::FromUrl("postgresql://u:secret1%zz@h/d", "key K");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret1"), std::string::npos) << e.what();
  }
  db::PgCredentials c =
      db::PgCredentials::FromUrl("postgresql://u%2Bx:p%25w@h%2dost/d%20b?k%3d=v%26", "key K");
  EXPECT_EQ(c.username, "u+x");
  EXPECT_EQ(c.password.Reveal(), "p%w");
  EXPECT_EQ(c.host, "h-ost");
  EXPECT_EQ(c.database, "d b");
  EXPECT_EQ(c.query.at("k="), "v&");
}

TEST(UrlPercentDecoding, FileUrlsKeepBadEscapesInTheFolderName) {
  test::TempDir tmp;
  const fs::path& dir = tmp.path();
  for (const char* folder : {"100%zz", "50%", "a%4", "my data"}) {
    fs::create_directories(dir / folder);
    std::ofstream(dir / folder / "f.csv") << "x\n";
  }
  std::string base = "file://" + dir.string();
  EXPECT_EQ(sources::filesystem::ListFiles(base + "/100%zz", "*").size(), 1u);
  EXPECT_EQ(sources::filesystem::ListFiles(base + "/50%", "*").size(), 1u);
  EXPECT_EQ(sources::filesystem::ListFiles(base + "/a%4", "*").size(), 1u);
  EXPECT_EQ(sources::filesystem::ListFiles(base + "/100%25zz", "*").size(), 1u);
  EXPECT_EQ(sources::filesystem::ListFiles(base + "/my%20data", "*").size(), 1u);
}

}  // namespace
}  // namespace cdlt
