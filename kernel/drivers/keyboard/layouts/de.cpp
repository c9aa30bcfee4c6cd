// The German layout (105-key ISO keyboard, QWERTZ, DIN 2137 "T1"), as printed on the keys.
// The real layout's dead keys (^ and the accents ´ `) type their spacing characters here.
#include "drivers/keyboard/layouts/builder.h"

namespace ferrite::drivers::keyboard {

using namespace layout_builder;

namespace {

// KeyCodes are US positions: KeyCode::Y is the key labelled "Z" on a German keyboard.
constexpr Entry kKeys[] = {
    // Number row
    {KeyCode::Backtick, symbol(U'^', U'°')},
    {KeyCode::Digit1, symbol(U'1', U'!')},
    {KeyCode::Digit2, symbol(U'2', U'"', U'²')},
    {KeyCode::Digit3, symbol(U'3', U'§', U'³')},
    {KeyCode::Digit4, symbol(U'4', U'$')},
    {KeyCode::Digit5, symbol(U'5', U'%')},
    {KeyCode::Digit6, symbol(U'6', U'&')},
    {KeyCode::Digit7, symbol(U'7', U'/', U'{')},
    {KeyCode::Digit8, symbol(U'8', U'(', U'[')},
    {KeyCode::Digit9, symbol(U'9', U')', U']')},
    {KeyCode::Digit0, symbol(U'0', U'=', U'}')},
    {KeyCode::Minus, symbol(U'ß', U'?', U'\\')},
    {KeyCode::Equals, symbol(U'´', U'`')},
    // Top letter row
    {KeyCode::Q, letter(U'q', U'Q', U'@')},
    {KeyCode::W, letter(U'w', U'W')},
    {KeyCode::E, letter(U'e', U'E', U'€')},
    {KeyCode::R, letter(U'r', U'R')},
    {KeyCode::T, letter(U't', U'T')},
    {KeyCode::Y, letter(U'z', U'Z')},
    {KeyCode::U, letter(U'u', U'U')},
    {KeyCode::I, letter(U'i', U'I')},
    {KeyCode::O, letter(U'o', U'O')},
    {KeyCode::P, letter(U'p', U'P')},
    {KeyCode::LeftBracket, letter(U'ü', U'Ü')},
    {KeyCode::RightBracket, symbol(U'+', U'*', U'~')},
    {KeyCode::Backslash, symbol(U'#', U'\'')},  // the ISO key left of Enter
                                                // Home row
    {KeyCode::A, letter(U'a', U'A')},
    {KeyCode::S, letter(U's', U'S')},
    {KeyCode::D, letter(U'd', U'D')},
    {KeyCode::F, letter(U'f', U'F')},
    {KeyCode::G, letter(U'g', U'G')},
    {KeyCode::H, letter(U'h', U'H')},
    {KeyCode::J, letter(U'j', U'J')},
    {KeyCode::K, letter(U'k', U'K')},
    {KeyCode::L, letter(U'l', U'L')},
    {KeyCode::Semicolon, letter(U'ö', U'Ö')},
    {KeyCode::Apostrophe, letter(U'ä', U'Ä')},
    // Bottom row
    {KeyCode::NonUsBackslash, symbol(U'<', U'>', U'|')},
    {KeyCode::Z, letter(U'y', U'Y')},
    {KeyCode::X, letter(U'x', U'X')},
    {KeyCode::C, letter(U'c', U'C')},
    {KeyCode::V, letter(U'v', U'V')},
    {KeyCode::B, letter(U'b', U'B')},
    {KeyCode::N, letter(U'n', U'N')},
    {KeyCode::M, letter(U'm', U'M', U'µ')},
    {KeyCode::Comma, symbol(U',', U';')},
    {KeyCode::Period, symbol(U'.', U':')},
    {KeyCode::Slash, symbol(U'-', U'_')},
    // Keypad: the decimal key types the German decimal separator.
    {KeyCode::KeypadPeriod, keypad(U',')},
};
static_assert(lists_every_typing_key_once(kKeys), "a key listed twice, or a typing key missing");

}  // namespace

constinit const Layout kGermanLayout =
    make_layout("de", "German (QWERTZ, 105 keys)", RightAlt::IsAltGr, kKeys);

}  // namespace ferrite::drivers::keyboard
