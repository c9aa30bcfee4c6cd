// The US English layout (104-key ANSI keyboard), as printed on the keys. Right Alt is plain Alt.
#include "drivers/keyboard/layouts/builder.h"

namespace ferrite::drivers::keyboard {

using namespace layout_builder;

namespace {

constexpr Entry kKeys[] = {
    // Number row
    {KeyCode::Backtick, symbol(U'`', U'~')},
    {KeyCode::Digit1, symbol(U'1', U'!')},
    {KeyCode::Digit2, symbol(U'2', U'@')},
    {KeyCode::Digit3, symbol(U'3', U'#')},
    {KeyCode::Digit4, symbol(U'4', U'$')},
    {KeyCode::Digit5, symbol(U'5', U'%')},
    {KeyCode::Digit6, symbol(U'6', U'^')},
    {KeyCode::Digit7, symbol(U'7', U'&')},
    {KeyCode::Digit8, symbol(U'8', U'*')},
    {KeyCode::Digit9, symbol(U'9', U'(')},
    {KeyCode::Digit0, symbol(U'0', U')')},
    {KeyCode::Minus, symbol(U'-', U'_')},
    {KeyCode::Equals, symbol(U'=', U'+')},
    // Top letter row
    {KeyCode::Q, letter(U'q', U'Q')},
    {KeyCode::W, letter(U'w', U'W')},
    {KeyCode::E, letter(U'e', U'E')},
    {KeyCode::R, letter(U'r', U'R')},
    {KeyCode::T, letter(U't', U'T')},
    {KeyCode::Y, letter(U'y', U'Y')},
    {KeyCode::U, letter(U'u', U'U')},
    {KeyCode::I, letter(U'i', U'I')},
    {KeyCode::O, letter(U'o', U'O')},
    {KeyCode::P, letter(U'p', U'P')},
    {KeyCode::LeftBracket, symbol(U'[', U'{')},
    {KeyCode::RightBracket, symbol(U']', U'}')},
    {KeyCode::Backslash, symbol(U'\\', U'|')},
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
    {KeyCode::Semicolon, symbol(U';', U':')},
    {KeyCode::Apostrophe, symbol(U'\'', U'"')},
    // Bottom row. A US keyboard has no ISO key; if one is there anyway it types
    // what Windows' US layout gives it.
    {KeyCode::NonUsBackslash, symbol(U'\\', U'|')},
    {KeyCode::Z, letter(U'z', U'Z')},
    {KeyCode::X, letter(U'x', U'X')},
    {KeyCode::C, letter(U'c', U'C')},
    {KeyCode::V, letter(U'v', U'V')},
    {KeyCode::B, letter(U'b', U'B')},
    {KeyCode::N, letter(U'n', U'N')},
    {KeyCode::M, letter(U'm', U'M')},
    {KeyCode::Comma, symbol(U',', U'<')},
    {KeyCode::Period, symbol(U'.', U'>')},
    {KeyCode::Slash, symbol(U'/', U'?')},
};
static_assert(lists_every_typing_key_once(kKeys), "a key listed twice, or a typing key missing");

}  // namespace

constinit const Layout kUsLayout =
    make_layout("us", "English (US, 104 keys)", RightAlt::IsAlt, kKeys);

}  // namespace ferrite::drivers::keyboard
