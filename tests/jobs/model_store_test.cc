// The model file store: content-addressed, durable writes that leave nothing behind on
// failure, and loads that verify the SHA-256 before returning a byte.
#include "jobs/model_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "daemon/sha256.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mlcron-models-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    models_ = (root_ / "models").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::vector<std::string> FilesIn(const fs::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path root_;
  std::string models_;
  const std::string bytes_ = std::string("{L\x00\x00\x00\x07learner", 13) + std::string(4000, 'x');
};

TEST_F(ModelStoreTest, StoresUnderTheContentHash) {
  auto stored = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(stored.ok()) << stored.message();
  const std::string sha = Sha256Hex(bytes_);
  EXPECT_EQ(stored->sha256, sha);
  EXPECT_EQ(stored->path, models_ + "/result/" + sha + ".ubj");
  EXPECT_EQ(Read(stored->path), bytes_);
  EXPECT_THAT(FilesIn(fs::path(models_) / "result"), ::testing::ElementsAre(sha + ".ubj"));
  struct stat st {};
  ASSERT_EQ(::stat(stored->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0137, 0u) << "mode " << std::oct << (st.st_mode & 0777);
}

TEST_F(ModelStoreTest, SameBytesReuseTheFile) {
  auto first = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(first.ok()) << first.message();
  struct stat before {};
  ASSERT_EQ(::stat(first->path.c_str(), &before), 0);
  int calls = 0;
  auto counting = [&](int fd, std::string_view b) {
    ++calls;
    return WriteAllToFd(fd, b);
  };
  auto second = StoreModelFile(models_, "result", bytes_, counting);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->path, first->path);
  EXPECT_EQ(calls, 0);  // not written again
  struct stat after {};
  ASSERT_EQ(::stat(second->path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(FilesIn(fs::path(models_) / "result").size(), 1u);
}

TEST_F(ModelStoreTest, ADamagedFileOfTheSameNameIsNeverOverwritten) {
  auto first = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(first.ok()) << first.message();
  Write(first->path, "garbage");
  auto second = StoreModelFile(models_, "result", bytes_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.message(), "model file " + first->path +
                                  ": exists with other contents (SHA-256 " +
                                  Sha256Hex("garbage").substr(0, 12) +
                                  "…); it is never overwritten: move it aside and retrain");
  EXPECT_EQ(Read(first->path), "garbage");
}

TEST_F(ModelStoreTest, FullDiskLeavesNothingBehind) {
  // Writes half, then fails the way write(2) does on a full disk.
  auto full_disk = [](int fd, std::string_view b) -> Status {
    if (Status s = WriteAllToFd(fd, b.substr(0, b.size() / 2)); !s.ok()) return s;
    return Status::Error(std::strerror(ENOSPC));
  };
  auto stored = StoreModelFile(models_, "result", bytes_, full_disk);
  ASSERT_FALSE(stored.ok());
  const std::string path = models_ + "/result/" + Sha256Hex(bytes_) + ".ubj";
  EXPECT_EQ(stored.message(), "model file " + path + ": writing failed: No space left on device");
  EXPECT_THAT(FilesIn(fs::path(models_) / "result"), ::testing::IsEmpty());
  // The next attempt, with room on the disk, succeeds under the same name.
  auto retry = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(retry.ok()) << retry.message();
  EXPECT_EQ(retry->path, path);
}

TEST_F(ModelStoreTest, RefusesAModelNameThatIsNotOneFolder) {
  for (const std::string name : {"", ".", "..", "a/b"}) {
    auto stored = StoreModelFile(models_, name, bytes_);
    ASSERT_FALSE(stored.ok()) << name;
    EXPECT_EQ(stored.message(), "model store: \"" + name + "\" cannot be a folder name");
  }
  EXPECT_FALSE(fs::exists(root_ / "b"));
  EXPECT_FALSE(fs::exists(root_ / "models" / "a"));
}

TEST_F(ModelStoreTest, LoadReturnsVerifiedBytes) {
  auto stored = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(stored.ok()) << stored.message();
  auto loaded = LoadVerifiedModel(stored->path, stored->sha256);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(*loaded, bytes_);
}

TEST_F(ModelStoreTest, LoadRefusesATamperedFile) {
  auto stored = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(stored.ok()) << stored.message();
  std::string tampered = bytes_;
  tampered[100] ^= 0x01;
  Write(stored->path, tampered);
  auto loaded = LoadVerifiedModel(stored->path, stored->sha256);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.message(), "model file " + stored->path + ": SHA-256 mismatch (registered " +
                                  stored->sha256.substr(0, 12) + "…, found " +
                                  Sha256Hex(tampered).substr(0, 12) +
                                  "…): the file changed after it was registered; nothing was "
                                  "loaded");
}

TEST_F(ModelStoreTest, LoadRefusesATruncatedFile) {
  auto stored = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(stored.ok()) << stored.message();
  fs::resize_file(stored->path, bytes_.size() / 3);
  auto loaded = LoadVerifiedModel(stored->path, stored->sha256);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.message(), "model file " + stored->path + ": SHA-256 mismatch (registered " +
                                  stored->sha256.substr(0, 12) + "…, found " +
                                  Sha256Hex(bytes_.substr(0, bytes_.size() / 3)).substr(0, 12) +
                                  "…): the file changed after it was registered; nothing was "
                                  "loaded");
}

TEST_F(ModelStoreTest, LoadOfAMissingFileSaysSo) {
  const std::string path = models_ + "/result/" + Sha256Hex(bytes_) + ".ubj";
  auto loaded = LoadVerifiedModel(path, Sha256Hex(bytes_));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.message(), "model file " + path + ": cannot open: No such file or directory");
}

TEST_F(ModelStoreTest, LoadWithoutARegisteredHashLoadsNothing) {
  auto stored = StoreModelFile(models_, "result", bytes_);
  ASSERT_TRUE(stored.ok()) << stored.message();
  auto loaded = LoadVerifiedModel(stored->path, "");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.message(), "model file " + stored->path + ": no SHA-256 registered; not loaded");
}

}  // namespace
}  // namespace mlcron
