;; Tables and memories at the edges: active data and element segments that end
;; exactly at the memory/table end, passive ones, memory.grow to the maximum,
;; table.grow, bulk memory, globals from imported globals, a start function
;; calling an import.
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (global $g (mut i32) (i32.const 65535))
  (memory 1 2)
  (table $t 4 8 funcref)
  (data (i32.const 65532) "\01\02\03\04")
  (data $passive "passive")
  (elem (i32.const 2) $f $f)
  (elem $pe func $f)
  (func $f (result i32) i32.const 42)
  (func $start
    call $yield
    drop
    i32.const 1
    memory.grow
    drop
    i32.const 1
    memory.grow
    drop
    ref.null func
    i32.const 4
    table.grow $t
    drop
    i32.const 0
    i32.const 0
    i32.const 7
    memory.init $passive
    data.drop $passive
    i32.const 0
    i32.const 0
    i32.const 1
    table.init $t $pe
    elem.drop $pe
    i32.const 8
    i32.const 0
    i32.const 7
    memory.copy
    i32.const 16
    i32.const 255
    i32.const 16
    memory.fill
    global.get $g
    i32.load8_u
    global.set $g)
  (start $start)
  (func (export "_start")
    i32.const 3
    call_indirect (result i32)
    drop))
