// A growable array of bytes whose growth may fail: the contents and names of /tmp's files
// (fs/tree.h). std::vector grows through the throwing operator new, and a kernel built with
// -fno-exceptions can only panic when that fails (mm/heap.cpp) — so a program filling memory
// through /tmp would bring the kernel down. try_resize says no instead and changes nothing.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace ferrite::lib {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~ByteBuffer() { release(); }

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

  // New size, the bytes added zeros. False when the memory is not there: then nothing changed.
  // Growing past the capacity asks for twice the capacity, so a file written block by block is
  // copied a few times (log n), not once per block; if twice is not there, exactly `new_size` is
  // tried. Shrinking keeps the memory, as std::vector does — except to 0, which gives it back.
  [[nodiscard]] bool try_resize(std::size_t new_size) {
    if (new_size == 0) {
      release();
      return true;
    }
    if (new_size > capacity_) {
      std::size_t wanted = capacity_ > new_size / 2 ? 2 * capacity_ : new_size;
      void* grown = ::operator new(wanted, std::nothrow);
      if (grown == nullptr && wanted != new_size) {
        wanted = new_size;
        grown = ::operator new(wanted, std::nothrow);
      }
      if (grown == nullptr) return false;
      if (size_ != 0) std::memcpy(grown, data_, size_);
      if (data_ != nullptr) ::operator delete(data_, capacity_);  // the kernel has sized deletes only
      data_ = static_cast<std::byte*>(grown);
      capacity_ = wanted;
    }
    if (new_size > size_) std::memset(data_ + size_, 0, new_size - size_);
    size_ = new_size;
    return true;
  }

  // Gives the memory back: size and capacity 0.
  void release() {
    if (data_ != nullptr) ::operator delete(data_, capacity_);
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ferrite::lib
