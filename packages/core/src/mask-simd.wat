;; WebSocket masking (RFC 6455 §5.3) with 128-bit WebAssembly SIMD: the source of the bytes that
;; mask-simd.ts embeds. test/mask-simd-module.test.ts assembles this file and checks that they match.
(module
  ;; Two pages, the window that payloads pass through: copied in to the first, masked into the second,
  ;; copied out. Its maximum is its minimum, so it never grows and a view of it never goes stale.
  (memory (export "memory") 2 2)

  ;; Writes memory[at, at + length) XORed with the masking key to memory[to, to + length). `key` holds the
  ;; key's four bytes in the order they apply from `at` on, read little-endian (the byte at `at` takes the
  ;; lowest byte of `key`).
  (func (export "mask") (param $at i32) (param $to i32) (param $length i32) (param $key i32)
    (local $end i32)
    (local $keys v128)
    local.get $key
    i32x4.splat
    local.set $keys

    ;; 64 bytes per iteration while at least 64 are left.
    local.get $at
    local.get $length
    i32.const -64
    i32.and
    i32.add
    local.set $end
    block $wide_done
      loop $wide
        local.get $at
        local.get $end
        i32.ge_u
        br_if $wide_done
        local.get $to
        local.get $at
        v128.load align=1
        local.get $keys
        v128.xor
        v128.store align=1
        local.get $to
        local.get $at
        v128.load offset=16 align=1
        local.get $keys
        v128.xor
        v128.store offset=16 align=1
        local.get $to
        local.get $at
        v128.load offset=32 align=1
        local.get $keys
        v128.xor
        v128.store offset=32 align=1
        local.get $to
        local.get $at
        v128.load offset=48 align=1
        local.get $keys
        v128.xor
        v128.store offset=48 align=1
        local.get $at
        i32.const 64
        i32.add
        local.set $at
        local.get $to
        i32.const 64
        i32.add
        local.set $to
        br $wide
      end
    end

    ;; Then 16 at a time. 64 and 16 are multiples of 4, so the key still lines up with `at`.
    local.get $at
    local.get $length
    i32.const 48
    i32.and
    i32.add
    local.set $end
    block $narrow_done
      loop $narrow
        local.get $at
        local.get $end
        i32.ge_u
        br_if $narrow_done
        local.get $to
        local.get $at
        v128.load align=1
        local.get $keys
        v128.xor
        v128.store align=1
        local.get $at
        i32.const 16
        i32.add
        local.set $at
        local.get $to
        i32.const 16
        i32.add
        local.set $to
        br $narrow
      end
    end

    ;; The last 0..15 bytes one at a time, the key turned by a byte after each.
    local.get $at
    local.get $length
    i32.const 15
    i32.and
    i32.add
    local.set $end
    block $bytes_done
      loop $bytes
        local.get $at
        local.get $end
        i32.ge_u
        br_if $bytes_done
        local.get $to
        local.get $at
        i32.load8_u
        local.get $key
        i32.xor
        i32.store8
        local.get $key
        i32.const 8
        i32.rotr
        local.set $key
        local.get $at
        i32.const 1
        i32.add
        local.set $at
        local.get $to
        i32.const 1
        i32.add
        local.set $to
        br $bytes
      end
    end
  )
)
