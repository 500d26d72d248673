//! [`named_enum!`]: a fieldless enum whose wire name is written once, beside its variant, and
//! serves serde, `Display` and [`name`](Self) alike, so the window can put the same name in a
//! CSS class or a `data-` attribute that the engine put on the wire.

/// Declares `pub enum $name { Variant => "wire_name", … }` with serde's renames, `name()` and
/// `Display` from the one list.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $wire:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $wire)] $variant ),*
        }

        impl $name {
            /// The name on the wire (`serde`'s), for CSS classes and `data-` attributes.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire ),*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                out.write_str(self.name())
            }
        }
    };
}
