#include "web_assets.h"

#include <string.h>

/*
 * .incbin puts each file's bytes into the object as it is assembled; the
 * paths are relative to the directory the compiler runs in (the Makefile's:
 * the repository root).
 */
#define ASSET(sym, file) \
	__asm__(".section .rodata\n.global " #sym "_start\n.global " #sym "_end\n" \
			#sym "_start:\n.incbin \"" file "\"\n" #sym "_end:\n.previous\n"); \
	extern const unsigned char sym##_start[], sym##_end[]

ASSET(web_index_html, "tools/web/assets/index.html");
ASSET(web_app_js, "tools/web/assets/app.js");
ASSET(web_style_css, "tools/web/assets/style.css");

static const web_asset assets[] = {
	{"/", "text/html; charset=utf-8", web_index_html_start, web_index_html_end},
	{"/app.js", "text/javascript; charset=utf-8", web_app_js_start, web_app_js_end},
	{"/style.css", "text/css; charset=utf-8", web_style_css_start, web_style_css_end},
};

const web_asset *
web_asset_find(const char *path)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(assets[i].path, path) == 0)
			return &assets[i];
	return NULL;
}
