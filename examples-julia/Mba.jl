# Mba.jl - memory-backed arrays (libmba) from Julia, through its C API.
#
# SIGNATURE-CHECKED, NOT RUN: Julia cannot be installed on the machines
# that test libmba, so this module has never been executed. What is checked
# (scripts/suites/julia.sh, examples-julia/check_ccalls.py): every ccall's
# function name, return type, argument types and argument count against
# include/mba.h, and the field names and types of Options and Info against
# struct mba_options and struct mba_info. See README.md.
#
#     include("Mba.jl"); using .Mba
#     a = Mba.create("shm://points", Float64; rowshape = (3,), replace = true)
#     Mba.append_row!(a, [1.0, 2.0, 3.0])
#     m = Mba.rows(a)          # 1 x 3, m[i, j] is C's a[i-1][j-1]
#     close(a); Mba.unlink("shm://points")
#
# The library is found as ENV["MBA_LIBRARY"] (a path to libmba.so) or
# "libmba" on the loader's search path, when this file is loaded.

module Mba

export MbaArray, MbaError

const libmba = get(ENV, "MBA_LIBRARY", "libmba")

# --- constants of include/mba.h -------------------------------------------

const OK = Cint(0)
const E_TIMEOUT = Cint(-20)
const E_INTR = Cint(-21)

const CREATE = UInt32(1)
const EXCL = UInt32(2)
const RDONLY = UInt32(4)
const COW = UInt32(8)
const REPLACE = UInt32(16)
const RAW = UInt32(32)
const FOREIGN = UInt32(64)

const TYPE_ANY = Int32(0)
const TYPE_RECORD = Int32(15)
const MAX_ROW_DIMS = 8

const FLUSH_SYNC = Cint(1)

# Element types: libmba's type code of each Julia type. Any other isbits
# type (a struct of plain fields) is stored as MBA_TYPE_RECORD of its size.
const TYPE_CODES = Dict{DataType,Int32}(
    Int8 => 1, UInt8 => 2, Int16 => 3, UInt16 => 4, Int32 => 5, UInt32 => 6,
    Int64 => 7, UInt64 => 8, Float32 => 9, Float64 => 10, Bool => 11,
    ComplexF32 => 12, ComplexF64 => 13, Float16 => 14,
)
const CODE_TYPES = Dict{Int32,DataType}(v => k for (k, v) in TYPE_CODES)

type_code(::Type{T}) where {T} = get(TYPE_CODES, T, TYPE_RECORD)

# --- the two structs of the C API (C layout: isbits fields only) ----------

# struct mba_options: always start from mba_options_init (see options()).
struct Options
    struct_size::UInt32
    flags::UInt32
    mode::UInt32
    elem_type::Int32
    item_size::UInt64
    ndim::UInt32
    reserved0::UInt32
    shape::NTuple{8,UInt64}
    initial_len::UInt64
    capacity::UInt64
    max_len::UInt64
    offset::UInt64
    errbuf::Ptr{UInt8}
    errbuf_len::Csize_t
end

# struct mba_info, filled by mba_describe.
struct Info
    struct_size::UInt32
    elem_type::Int32
    flags::UInt32
    ndim::UInt32
    item_size::UInt64
    row_size::UInt64
    shape::NTuple{8,UInt64}
    capacity::UInt64
    max_len::UInt64
    uuid::UInt64
    data::Ptr{Cvoid}
    len_ptr::Ptr{UInt64}
    fd::Cint
    reserved0::Cint
end

# --- errors ----------------------------------------------------------------

"""
    MbaError(code, call, message)

A failed libmba call: its status code (an `MBA_E_*` value), the function,
and the detailed message of the library.
"""
struct MbaError <: Exception
    code::Int
    call::String
    message::String
end

Base.showerror(io::IO, e::MbaError) =
    print(io, "MbaError: ", e.call, ": ", strerror(e.code), " (", e.message, ")")

"The fixed message of a status code."
strerror(code::Integer) = unsafe_string(ccall((:mba_strerror, libmba), Cstring, (Cint,), code))

"The library version, e.g. \"0.3.1\"."
version() = unsafe_string(ccall((:mba_version_string, libmba), Cstring, ()))

# The text up to the first NUL of a buffer the library filled.
function cstr(buf::Vector{UInt8})
    n = findfirst(iszero, buf)
    return String(buf[1:(n === nothing ? length(buf) : n - 1)])
end

# The detailed message of the last failure on handle h (any thread), or of
# the calling thread's last failure when there is no handle yet. A Julia
# task moves between threads only at a yield point, and none comes between
# the failed ccall and this one.
function detail(h::Int32)
    buf = zeros(UInt8, 512)
    if h > 0
        ccall((:mba_handle_error, libmba), Cint, (Int32, Ptr{UInt8}, Csize_t), h, buf, length(buf))
    else
        ccall((:mba_last_error, libmba), Cint, (Ptr{UInt8}, Csize_t), buf, length(buf))
    end
    return cstr(buf)
end

check(rc::Cint, call::String, h::Int32 = Int32(0)) =
    rc == OK ? nothing : throw(MbaError(rc, call, detail(h)))

# --- opening -------------------------------------------------------------

"""
An open array of element type `T`, a handle of libmba. `rowshape` is the
shape of one row (empty for a flat array), in C (row-major) order. Lengths
and indexes count rows. Close it with `close`; a finalizer closes it too.
"""
mutable struct MbaArray{T}
    h::Int32
    rowshape::Vector{Int}
    rowelems::Int
    function MbaArray{T}(h::Int32, rowshape::Vector{Int}) where {T}
        a = new{T}(h, rowshape, prod(rowshape; init = 1))
        finalizer(a) do x
            x.h > 0 && ccall((:mba_close, libmba), Cint, (Int32,), x.h)
            x.h = 0
        end
        return a
    end
end

# mba_options_init, then the caller's fields on top.
function options(; flags = 0, mode = 0, elem_type = TYPE_ANY, item_size = 0, rowshape = (),
                 initial_len = 0, capacity = 0, max_len = 0, offset = 0,
                 errbuf = Ptr{UInt8}(C_NULL), errbuf_len = 0)
    length(rowshape) <= MAX_ROW_DIMS || throw(ArgumentError("at most $MAX_ROW_DIMS row dimensions"))
    r = Ref{Options}()
    check(ccall((:mba_options_init, libmba), Cint, (Ref{Options},), r), "mba_options_init")
    shape = ntuple(i -> i <= length(rowshape) ? UInt64(rowshape[i]) : UInt64(0), 8)
    return Options(r[].struct_size, flags, mode, elem_type, item_size, length(rowshape), 0,
                   shape, initial_len, capacity, max_len, offset, errbuf, errbuf_len)
end

# An opener that takes an mba_options: the detailed message of a failure
# comes back in opts.errbuf, whatever thread the task runs on.
function open_with(f, call::String; T = nothing, kw...)
    buf = zeros(UInt8, 512)
    out = Ref{Int32}(0)
    rc = GC.@preserve buf begin
        o = options(; elem_type = T === nothing ? TYPE_ANY : type_code(T),
                    item_size = T === nothing ? 0 : sizeof(T),
                    errbuf = pointer(buf), errbuf_len = length(buf), kw...)
        f(Ref(o), out)
    end
    rc == OK || throw(MbaError(rc, call, cstr(buf)))
    return wrap(out[], T)
end

# An MbaArray for handle h, its element type from the array (or T).
function wrap(h::Int32, T)
    info = Ref(Info(UInt32(sizeof(Info)), 0, 0, 0, 0, 0, ntuple(_ -> UInt64(0), 8), 0, 0, 0,
                    C_NULL, C_NULL, 0, 0))
    rc = ccall((:mba_describe, libmba), Cint, (Int32, Ref{Info}), h, info)
    if rc != OK
        err = MbaError(rc, "mba_describe", detail(h))
        ccall((:mba_close, libmba), Cint, (Int32,), h)
        throw(err)
    end
    i = info[]
    E = T === nothing ? get(CODE_TYPES, i.elem_type, nothing) : T
    if E === nothing || sizeof(E) != i.item_size
        ccall((:mba_close, libmba), Cint, (Int32,), h)
        throw(ArgumentError("the array holds $(i.item_size)-byte elements of type code " *
                            "$(i.elem_type): give a matching element type"))
    end
    return MbaArray{E}(h, Int[i.shape[k] for k in 1:i.ndim])
end

"""
    Mba.open(name; T = nothing, readonly = false) -> MbaArray

Opens an existing array ("shm://NAME", "file://PATH" or a path). `T` is
the element type it must hold (required for record arrays: an isbits
struct of the record's size); `nothing` accepts any numeric type.
"""
function open(name::AbstractString; T = nothing, readonly::Bool = false)
    out = Ref{Int32}(0)
    code = T === nothing ? TYPE_ANY : type_code(T)
    rc = ccall((:mba_open, libmba), Cint, (Cstring, UInt32, Int32, Ref{Int32}),
               String(name), readonly ? RDONLY : UInt32(0), code, out)
    check(rc, "mba_open")
    return wrap(out[], T)
end

"""
    Mba.create(name, T; rowshape = (), replace = false, excl = false,
               max_len = 0, capacity = 0, mode = 0) -> MbaArray{T}

Creates (or, without `excl`, opens) a named array of `T`, each row of
shape `rowshape` (row-major, as C sees it). `replace` publishes a new
empty array under the name. `max_len` bounds its growth in rows (0: 64 GiB
worth, or MBA_RESERVE).
"""
function create(name::AbstractString, ::Type{T}; rowshape = (), replace::Bool = false,
                excl::Bool = false, max_len = 0, capacity = 0, mode = 0) where {T}
    isbitstype(T) || throw(ArgumentError("$T is not an isbits type"))
    flags = CREATE | (replace ? REPLACE : UInt32(0)) | (excl ? EXCL : UInt32(0))
    return open_with("mba_open_ex"; T = T, flags = flags, rowshape = rowshape,
                     max_len = max_len, capacity = capacity, mode = mode) do o, out
        ccall((:mba_open_ex, libmba), Cint, (Cstring, Ref{Options}, Ref{Int32}), String(name), o,
              out)
    end
end

"""
    Mba.anon(T; rowshape = (), capacity = 0, max_len = 0) -> MbaArray{T}

An anonymous array (a memfd), private to this process and its children.
"""
function anon(::Type{T}; rowshape = (), capacity = 0, max_len = 0) where {T}
    isbitstype(T) || throw(ArgumentError("$T is not an isbits type"))
    return open_with("mba_anon_ex"; T = T, rowshape = rowshape, capacity = capacity,
                     max_len = max_len) do o, out
        ccall((:mba_anon_ex, libmba), Cint, (Ref{Options}, Ref{Int32}), o, out)
    end
end

"""
    Mba.map_raw(path, T; offset = 0, rowshape = (), len = 0, readonly = true)

Maps the elements of a raw binary file (no libmba header, e.g. written by
another program) in place, from byte `offset`, `len` rows (0: every
complete row). The length is fixed. Bytes are read in the host's order.
"""
function map_raw(path::AbstractString, ::Type{T}; offset = 0, rowshape = (), len = 0,
                 readonly::Bool = true) where {T}
    return open_with("mba_map_raw"; T = T, flags = readonly ? RDONLY : UInt32(0),
                     offset = offset, rowshape = rowshape, initial_len = len) do o, out
        ccall((:mba_map_raw, libmba), Cint, (Cstring, Ref{Options}, Ref{Int32}), String(path), o,
              out)
    end
end

"Closes the handle. Views from `vector`/`matrix` stay valid (they hold a pin)."
function Base.close(a::MbaArray)
    a.h > 0 || return nothing
    h, a.h = a.h, Int32(0)
    check(ccall((:mba_close, libmba), Cint, (Int32,), h), "mba_close")
    return nothing
end

"Removes a name; processes that have the array open keep their memory."
unlink(name::AbstractString) =
    check(ccall((:mba_unlink, libmba), Cint, (Cstring,), String(name)), "mba_unlink")

# --- size and contents ---------------------------------------------------

handle(a::MbaArray) = a.h > 0 ? a.h : throw(ArgumentError("the array is closed"))

"Number of rows (elements of a flat array)."
function Base.length(a::MbaArray)
    n = Ref{UInt64}(0)
    check(ccall((:mba_len, libmba), Cint, (Int32, Ref{UInt64}), handle(a), n), "mba_len", a.h)
    return Int(n[])
end

function capacity(a::MbaArray)
    n = Ref{UInt64}(0)
    check(ccall((:mba_capacity, libmba), Cint, (Int32, Ref{UInt64}), handle(a), n),
          "mba_capacity", a.h)
    return Int(n[])
end

"Appends one element to a flat array."
function Base.push!(a::MbaArray{T}, x) where {T}
    a.rowelems == 1 || throw(ArgumentError("a row-shaped array: use append_row!"))
    r = Ref{T}(convert(T, x))
    check(ccall((:mba_append, libmba), Cint, (Int32, Ptr{Cvoid}), handle(a), r),
          "mba_append", a.h)
    return a
end

"Appends one row (`rowelems` elements, in C order) to a row-shaped array."
function append_row!(a::MbaArray{T}, row::AbstractArray) where {T}
    length(row) == a.rowelems || throw(DimensionMismatch("a row has $(a.rowelems) elements"))
    buf = convert(Array{T}, row)
    check(ccall((:mba_append, libmba), Cint, (Int32, Ptr{Cvoid}), handle(a), buf),
          "mba_append", a.h)
    return a
end

"""
    append!(a, xs)

Appends `length(xs) / rowelems` rows in one all-or-nothing step. For an
N x K array, a K x n Julia `Matrix` is n rows: its column-major memory is
exactly the C layout of n rows of K.
"""
function Base.append!(a::MbaArray{T}, xs::AbstractArray) where {T}
    n, r = divrem(length(xs), a.rowelems)
    r == 0 || throw(DimensionMismatch("$(length(xs)) elements are not whole rows of $(a.rowelems)"))
    buf = convert(Array{T}, xs)
    check(ccall((:mba_extend, libmba), Cint, (Int32, UInt64, Ptr{Cvoid}), handle(a), n, buf),
          "mba_extend", a.h)
    return a
end

"Row `i` (1-based), copied: an element of a flat array, else a Vector of the row."
function Base.getindex(a::MbaArray{T}, i::Integer) where {T}
    out = Vector{T}(undef, a.rowelems)
    check(ccall((:mba_get, libmba), Cint, (Int32, UInt64, Ptr{Cvoid}), handle(a), i - 1, out),
          "mba_get", a.h)
    return a.rowelems == 1 ? out[1] : out
end

# The element pointer (never moves for the life of the handle) and a pin
# that keeps the memory mapped until the view that holds it is collected.
function pinned_ptr(a::MbaArray{T}) where {T}
    p = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:mba_get_ptr, libmba), Cint, (Int32, Ref{Ptr{Cvoid}}), handle(a), p),
          "mba_get_ptr", a.h)
    pin = Ref{Int32}(0)
    check(ccall((:mba_pin, libmba), Cint, (Int32, Ref{Int32}), a.h, pin), "mba_pin", a.h)
    return Ptr{T}(p[]), pin[]
end

function pinned(v::Array, pin::Int32)
    finalizer(_ -> ccall((:mba_unpin, libmba), Cint, (Int32,), pin), v)
    return v
end

"""
    vector(a) -> Vector{T}

Every element of the first `length(a)` rows, in place (no copy), in C
order. The view's length is fixed when it is made: after growth, take a
new one. Writes through it are not locked (mba_lock/append are).
"""
function vector(a::MbaArray{T}) where {T}
    n = length(a) * a.rowelems
    p, pin = pinned_ptr(a)
    return pinned(unsafe_wrap(Vector{T}, p, n; own = false), pin)
end

"""
    matrix(a) -> Array{T}

The rows in place as a Julia array whose LAST dimension counts rows. Julia
is column-major, C row-major: an N x K array (rowshape (K,)) appears as a
K x N `Matrix`, its transpose, and column j is row j. Row shape (d1, d2)
appears as d2 x d1 x N. Use `rows(a)` for N x K indexing.
"""
function matrix(a::MbaArray{T}) where {T}
    dims = (reverse(a.rowshape)..., length(a))
    p, pin = pinned_ptr(a)
    return pinned(unsafe_wrap(Array{T,length(dims)}, p, dims; own = false), pin)
end

"""
    rows(a) -> PermutedDimsArray

An N x K view for a row-shaped array (rowshape (K,)): `rows(a)[i, j]` is
C's `a[i-1][j-1]`, without a copy (a lazy transpose of `matrix(a)`).
"""
function rows(a::MbaArray)
    length(a.rowshape) == 1 || throw(ArgumentError("rows needs a one-dimensional row shape"))
    return PermutedDimsArray(matrix(a), (2, 1))
end

# --- waiting for other processes -----------------------------------------

"The change counter: pass it to `wait`."
function seq(a::MbaArray)
    s = Ref{UInt64}(0)
    check(ccall((:mba_seq, libmba), Cint, (Int32, Ref{UInt64}), handle(a), s), "mba_seq", a.h)
    return s[]
end

"""
    wait(a, seen; timeout = nothing) -> new counter, or nothing on timeout

Waits until the array changes (its counter differs from `seen`). A blocking
ccall holds its thread, so it waits in slices of at most 100 ms and yields
between them: other tasks run and an InterruptException gets through.
"""
function Base.wait(a::MbaArray, seen::UInt64; timeout = nothing)
    deadline = timeout === nothing ? Inf : time() + timeout
    out = Ref{UInt64}(0)
    while true
        slice = min(0.1, max(0.0, deadline - time()))
        rc = ccall((:mba_wait, libmba), Cint, (Int32, UInt64, Int64, Ref{UInt64}),
                   handle(a), seen, round(Int64, slice * 1e9), out)
        rc == OK && return out[]
        (rc == E_TIMEOUT || rc == E_INTR) || check(rc, "mba_wait", a.h)
        time() >= deadline && return nothing
        yield()
    end
end

"Writes the array back to its file and waits (MBA_FLUSH_SYNC)."
flush(a::MbaArray) =
    check(ccall((:mba_flush, libmba), Cint, (Int32, Cint), handle(a), FLUSH_SYNC), "mba_flush", a.h)

end # module
