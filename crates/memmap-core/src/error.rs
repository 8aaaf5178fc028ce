//! The one error type of the core. Every failure carries a stable code that the
//! binding hands to JavaScript unchanged, and a message that names the argument
//! and the value.

use std::fmt;
use std::io;

/// What went wrong, as a closed set: each kind has one stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file does not exist and the mode does not create it.
    NotFound,
    /// The path names a directory.
    IsDirectory,
    /// The path names something that is neither a regular file nor a directory
    /// (a FIFO, a socket, a device): mapping it would hang or fail.
    NotRegularFile,
    /// The operating system refused access.
    PermissionDenied,
    /// The file is empty and the mode may not extend it.
    EmptyFile,
    /// The file is shorter than `offset + nbytes` and the mode may not extend it.
    FileTooShort,
    /// Without a shape, the bytes after `offset` are not a whole number of items.
    NotWholeItems,
    /// The byte count does not fit in this process's address space.
    TooLarge,
    /// The disk has no room for the blocks a writable map needs.
    NoSpace,
    /// Too many maps are alive at once: the kernel's map limit is near.
    TooManyMaps,
    /// A file descriptor that is not open, or not open for what the mode needs.
    BadFileDescriptor,
    /// This platform lacks the facility (for example file descriptors on Windows).
    Unsupported,
    /// Another process truncated the file below the end of a live map.
    FileShrunk,
    /// The file at a described path is not the file that was described (it
    /// was replaced, or renamed over).
    FileReplaced,
    /// A cut of a file that another live map in this process reaches past
    /// the new end (reading it would be SIGBUS).
    FileInUse,
    /// A resize of an array that does not end at the end of its file: the
    /// bytes after it would be overwritten or cut.
    NotAtEnd,
    /// An argument the core was given cannot be honoured (a prefix longer
    /// than the offset, a prefix in a mode that does not create the file, a
    /// reduction's axes, mask or output).
    InvalidArgument,
    /// Any other operating system error.
    Io,
    /// An operation numpy does not define for the dtype (the sum of datetimes).
    InvalidDtype,
    /// A value outside what the dtype holds (an `initial` too large for int8).
    ValueOutOfRange,
    /// A reduction with no identity (min, max, argmin, argmax) over no elements.
    EmptyReduction,
    /// The caller's abort flag was set: the work stopped part-way.
    Aborted,
    /// The memory went away during the work (the map was closed): no value is given.
    Closed,
}

impl ErrorKind {
    /// The stable code JavaScript sees as `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "ERR_MEMMAP_FILE_NOT_FOUND",
            ErrorKind::IsDirectory => "ERR_MEMMAP_IS_DIRECTORY",
            ErrorKind::NotRegularFile => "ERR_MEMMAP_NOT_REGULAR_FILE",
            ErrorKind::PermissionDenied => "ERR_MEMMAP_PERMISSION_DENIED",
            ErrorKind::EmptyFile => "ERR_MEMMAP_EMPTY_FILE",
            ErrorKind::FileTooShort => "ERR_MEMMAP_FILE_TOO_SHORT",
            ErrorKind::NotWholeItems => "ERR_MEMMAP_NOT_WHOLE_ITEMS",
            ErrorKind::TooLarge => "ERR_MEMMAP_TOO_LARGE",
            ErrorKind::NoSpace => "ERR_MEMMAP_NO_SPACE",
            ErrorKind::TooManyMaps => "ERR_MEMMAP_TOO_MANY_MAPS",
            ErrorKind::BadFileDescriptor => "ERR_MEMMAP_BAD_FD",
            ErrorKind::Unsupported => "ERR_MEMMAP_UNSUPPORTED",
            ErrorKind::FileShrunk => "ERR_MEMMAP_FILE_SHRUNK",
            ErrorKind::FileReplaced => "ERR_MEMMAP_FILE_REPLACED",
            ErrorKind::NotAtEnd => "ERR_MEMMAP_NOT_AT_END",
            ErrorKind::FileInUse => "ERR_MEMMAP_FILE_IN_USE",
            ErrorKind::InvalidArgument => "ERR_MEMMAP_INVALID_ARG",
            ErrorKind::Io => "ERR_MEMMAP_IO",
            ErrorKind::InvalidDtype => "ERR_MEMMAP_INVALID_DTYPE",
            ErrorKind::ValueOutOfRange => "ERR_MEMMAP_VALUE_OUT_OF_RANGE",
            ErrorKind::EmptyReduction => "ERR_MEMMAP_EMPTY_REDUCTION",
            ErrorKind::Aborted => "ERR_MEMMAP_ABORTED",
            ErrorKind::Closed => "ERR_MEMMAP_CLOSED",
        }
    }
}

/// A core failure: a kind (and so a code) and a message for people.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Wraps an I/O error, saying what was being done (`what`) when it happened.
    pub(crate) fn io(err: io::Error, what: impl fmt::Display) -> Error {
        let kind = match err.kind() {
            // ENOTDIR: a component of the path is a file, so no such file exists.
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => ErrorKind::NotFound,
            // EACCES, EPERM, and EROFS: writing is not permitted on that mount.
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            io::ErrorKind::IsADirectory => ErrorKind::IsDirectory,
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
                ErrorKind::NoSpace
            }
            _ => match err.raw_os_error() {
                Some(libc::ENOSPC) | Some(libc::EFBIG) => ErrorKind::NoSpace,
                #[cfg(unix)]
                Some(libc::EDQUOT) => ErrorKind::NoSpace,
                Some(libc::EBADF) => ErrorKind::BadFileDescriptor,
                // Out of descriptors or of mappings: the same advice applies.
                Some(libc::EMFILE) | Some(libc::ENFILE) => ErrorKind::TooManyMaps,
                _ => ErrorKind::Io,
            },
        };
        Error::new(kind, format!("{what}: {err}"))
    }

    /// An `mmap` failure: ENOMEM there means the address space (RLIMIT_AS,
    /// or a range too large for it) has no room, [`ErrorKind::TooLarge`];
    /// anything else as [`Error::io`].
    pub(crate) fn mapping(err: io::Error, what: impl fmt::Display) -> Error {
        if err.kind() == io::ErrorKind::OutOfMemory {
            return Error::new(ErrorKind::TooLarge, format!("{what}: {err}"));
        }
        Error::io(err, what)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
