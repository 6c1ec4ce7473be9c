#include "tools/ctl/bundle_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <system_error>

namespace atmhealth::ctl {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status ArchiveError(archive* a, const std::string& path, std::string_view what) {
  const char* message = archive_error_string(a);
  return Error(ErrorCode::kIo, fmt::format("{}: {}: {}", path, what,
                                           message != nullptr ? message : "libarchive failed"));
}

Status WriteMembers(archive* a, const std::string& partial, const std::string& directory,
                    const std::vector<BundleFile>& files, std::int64_t mtime_unix_s) {
  if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
    return ArchiveError(a, partial, "set up the archive");
  }
  if (archive_write_open_filename(a, partial.c_str()) != ARCHIVE_OK) {
    return ArchiveError(a, partial, "create");
  }
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  auto write_header = [&](const std::string& name, unsigned type, int permissions,
                          std::size_t size) -> Status {
    archive_entry_clear(entry.get());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), permissions);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), mtime_unix_s, 0);
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
      return ArchiveError(a, partial, "write " + name);
    }
    return OkStatus();
  };
  if (Status s = write_header(directory + "/", AE_IFDIR, 0755, 0); !s.ok()) return s;
  for (const BundleFile& file : files) {
    const std::string name = directory + "/" + file.name;
    if (Status s = write_header(name, AE_IFREG, 0644, file.content.size()); !s.ok()) return s;
    if (!file.content.empty() && archive_write_data(a, file.content.data(), file.content.size()) !=
                                     static_cast<la_ssize_t>(file.content.size())) {
      return ArchiveError(a, partial, "write " + name);
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) return ArchiveError(a, partial, "finish");
  return OkStatus();
}

}  // namespace

Status WriteBundleArchive(const std::string& path, const std::string& directory,
                          const std::vector<BundleFile>& files, std::int64_t mtime_unix_s) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: exists already; name another file with --output", path));
  }
  const std::string partial = path + ".partial";
  Status written = OkStatus();
  {
    std::unique_ptr<archive, ArchiveFree> a(archive_write_new());
    if (!a) return Error(ErrorCode::kIo, fmt::format("{}: out of memory for the archive", path));
    written = WriteMembers(a.get(), partial, directory, files, mtime_unix_s);
  }
  if (written.ok()) {
    std::filesystem::permissions(
        partial, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    if (!ec) std::filesystem::rename(partial, path, ec);
    if (ec) written = Error(ErrorCode::kIo, fmt::format("{}: {}", path, ec.message()));
  }
  if (!written.ok()) std::filesystem::remove(partial, ec);
  return written;
}

}  // namespace atmhealth::ctl
